using CipherChat.Mls.Codec;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Messages;

namespace CipherChat.Mls.Tree;

public sealed partial class RatchetTree
{
    /// <summary>Version byte of <see cref="Serialize"/>.</summary>
    public const byte SerializationVersion = 1;

    /// <summary>
    /// Exact, versioned bytes for saving group state: version (1), uint16 cipher suite, then the
    /// <c>ratchet_tree</c> encoding (<see cref="Encode"/>). Holds only public data.
    /// </summary>
    public byte[] Serialize()
    {
        var nodes = ToNodes();
        return Encoded(w =>
        {
            w.WriteUInt8(SerializationVersion);
            w.WriteUInt16(Suite.Id);
            nodes.Encode(w);
        });
    }

    /// <summary>Restores a tree saved with <see cref="Serialize"/>.</summary>
    /// <exception cref="MlsDecodeException">Malformed bytes, an unknown version or cipher suite, or not a tree.</exception>
    public static RatchetTree Deserialize(ReadOnlySpan<byte> data)
    {
        var reader = new TlsReader(data);
        if (reader.ReadUInt8() != SerializationVersion)
        {
            throw new MlsDecodeException(MlsDecodeError.UnsupportedVersion, "Unknown ratchet tree state version.");
        }

        var suiteId = reader.ReadUInt16();
        if (!MlsCipherSuite.IsSupported(suiteId))
        {
            throw new MlsDecodeException(MlsDecodeError.UnknownValue, "Unknown cipher suite in ratchet tree state.");
        }

        var nodes = RatchetTreeNodes.Decode(ref reader);
        reader.EnsureEnd();
        try
        {
            return FromNodes(nodes.Nodes, MlsCipherSuite.FromId(suiteId));
        }
        catch (MlsValidationException e)
        {
            throw new MlsDecodeException("Saved ratchet tree state is not a tree.", e);
        }
    }
}
