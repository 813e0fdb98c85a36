using System.Net;
using System.Net.Sockets;
using ModelServeShim.Abstractions.Activities;

namespace ModelServeShim.Shimlets.Local;

/// <summary>Finds ports on 127.0.0.1.</summary>
internal static class PortAllocator
{
    private const int Attempts = 20;

    /// <summary>
    /// Lets the kernel pick a free port (bind port 0, read it, release). A port this shimlet already gave a replica
    /// (whose process may not be listening yet) is skipped and another one is picked.
    /// </summary>
    public static int AllocateFree(IReadOnlySet<int> reserved)
    {
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            int port;
            try
            {
                listener.Start();
                port = ((IPEndPoint)listener.LocalEndpoint).Port;
            }
            finally
            {
                listener.Stop();
            }

            if (!reserved.Contains(port))
            {
                return port;
            }
        }

        throw new StepException(LocalErrorTypes.PortUnavailable, $"No free port on 127.0.0.1 after {Attempts} attempts.");
    }

    /// <summary>Whether nothing listens on the port on 127.0.0.1 right now.</summary>
    public static bool IsFree(int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        try
        {
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        finally
        {
            listener.Stop();
        }
    }
}
