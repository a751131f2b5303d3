using System.Buffers;
using System.Text;
using CipherChat.Mls.Codec;
using NSec.Cryptography;

// Not "...Tests.Messages": that would shadow CipherChat.Mls.Messages for partially qualified names in sibling test namespaces.
namespace CipherChat.Mls.Tests.MessagesTests;

/// <summary>
/// Test-side VerifyWithLabel (RFC 9420 §5.1.2) for Ed25519, used to prove that the to-be-signed
/// encodings of the message structs are the ones the vectors were signed over.
/// </summary>
internal static class WireSignatures
{
    public static bool Verify(ReadOnlySpan<byte> publicKey, string label, ReadOnlySpan<byte> content, ReadOnlySpan<byte> signature)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new TlsWriter(buffer);
        writer.WriteVector(Encoding.ASCII.GetBytes("MLS 1.0 " + label));
        writer.WriteVector(content);

        var algorithm = SignatureAlgorithm.Ed25519;
        var key = PublicKey.Import(algorithm, publicKey, KeyBlobFormat.RawPublicKey);
        return algorithm.Verify(key, buffer.WrittenSpan, signature);
    }
}
