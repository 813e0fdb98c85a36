using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace ModelServeShim.Shimlets.Kubernetes;

/// <summary>Derives Kubernetes names from service ids and checks label syntax.</summary>
public static partial class KubernetesNames
{
    /// <summary>
    /// The longest object name used. A DNS-1123 label may have 63 characters, but a StatefulSet adds
    /// <c>-&lt;10-char hash&gt;</c> to its name for the <c>controller-revision-hash</c> label, so 52 keeps
    /// every kind valid.
    /// </summary>
    public const int MaxObjectNameLength = 52;

    /// <summary>The longest label value.</summary>
    public const int MaxLabelValueLength = 63;

    /// <summary>
    /// The object name for a service id: lower-case DNS-1123 label starting with a letter (Services need a
    /// DNS-1035 label), at most <see cref="MaxObjectNameLength"/> characters; a shortened name ends in a hash of
    /// the full id so two long ids do not collide.
    /// </summary>
    public static string ObjectName(string serviceId) => Shorten(Sanitize(serviceId, requireLetterFirst: true), serviceId, MaxObjectNameLength);

    /// <summary>The <c>modelserveshim.io/service-id</c> label value for a service id (a valid label value).</summary>
    public static string ServiceIdLabel(string serviceId) => Shorten(Sanitize(serviceId, requireLetterFirst: false), serviceId, MaxLabelValueLength);

    /// <summary>Whether <paramref name="key"/> is a valid label key (<c>[prefix/]name</c>).</summary>
    public static bool IsValidLabelKey(string key)
    {
        if (string.IsNullOrEmpty(key))
        {
            return false;
        }

        var slash = key.IndexOf('/', StringComparison.Ordinal);
        var name = slash < 0 ? key : key[(slash + 1)..];
        if (slash >= 0)
        {
            var prefix = key[..slash];
            if (prefix.Length is 0 or > 253 || !Dns1123Subdomain().IsMatch(prefix))
            {
                return false;
            }
        }

        return name.Length is > 0 and <= 63 && LabelName().IsMatch(name);
    }

    /// <summary>Whether <paramref name="value"/> is a valid label value (may be empty).</summary>
    public static bool IsValidLabelValue(string value) =>
        value.Length == 0 || (value.Length <= MaxLabelValueLength && LabelName().IsMatch(value));

    /// <summary>Whether <paramref name="value"/> is a DNS-1123 subdomain (most object names, e.g. Secrets).</summary>
    public static bool IsDns1123Subdomain(string value) => value.Length is > 0 and <= 253 && Dns1123Subdomain().IsMatch(value);

    /// <summary>Whether <paramref name="value"/> is a DNS-1123 label (namespaces, model names).</summary>
    public static bool IsDns1123Label(string value) => value.Length is > 0 and <= 63 && Dns1123Label().IsMatch(value);

    private static string Sanitize(string serviceId, bool requireLetterFirst)
    {
        var builder = new StringBuilder(serviceId.Length + 2);
        foreach (var c in serviceId.ToLowerInvariant())
        {
            builder.Append(c is (>= 'a' and <= 'z') or (>= '0' and <= '9') ? c : '-');
        }

        var result = builder.ToString().Trim('-');
        if (result.Length == 0 || (requireLetterFirst && result[0] is < 'a' or > 'z'))
        {
            result = "m-" + result;
        }

        return result.TrimEnd('-');
    }

    private static string Shorten(string sanitized, string original, int maxLength)
    {
        if (sanitized.Length <= maxLength && string.Equals(sanitized, original, StringComparison.Ordinal))
        {
            return sanitized;
        }

        // The id had to change (shortened, characters replaced or a prefix added): end in a hash of the
        // original so ids that differ only in the changed part still get different names.
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(original)))[..8].ToLower(CultureInfo.InvariantCulture);
        var keep = Math.Min(sanitized.Length, maxLength - hash.Length - 1);
        return sanitized[..keep].TrimEnd('-') + "-" + hash;
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", RegexOptions.CultureInvariant)]
    private static partial Regex Dns1123Subdomain();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex Dns1123Label();

    [GeneratedRegex("^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex LabelName();
}
