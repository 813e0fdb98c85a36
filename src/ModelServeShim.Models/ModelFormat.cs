namespace ModelServeShim.Models;

/// <summary>On-disk weight format.</summary>
public enum ModelFormat
{
    /// <summary>A single llama.cpp GGUF file.</summary>
    Gguf,

    /// <summary>A Hugging Face directory with one or more <c>.safetensors</c> files.</summary>
    Safetensors,
}
