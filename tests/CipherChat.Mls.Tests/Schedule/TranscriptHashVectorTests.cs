using System.Text.Json;
using CipherChat.Mls.Codec;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Messages;
using CipherChat.Mls.Schedule;
using CipherChat.Mls.Tests.Support;

namespace CipherChat.Mls.Tests.Schedule;

/// <summary>transcript-hashes.json: confirmed and interim transcript hash update and the confirmation tag.</summary>
public class TranscriptHashVectorTests
{
    private static readonly Lazy<JsonElement> Vector = new(() =>
        Assert.Single(TestVectors.LoadMls("transcript-hashes.json").EnumerateArray(), e => e.GetProperty("cipher_suite").GetInt32() == 1));

    private static MlsCipherSuite Suite => MlsCipherSuite.Default;

    [Fact]
    public void Transcript_hashes_and_confirmation_tag_match()
    {
        var v = Vector.Value;
        var content = TlsCodec.DecodeExact<AuthenticatedContent>(v.Hex("authenticated_content"));
        Assert.Equal(ContentType.Commit, content.Content.Content.ContentType);
        var tag = Assert.NotNull(content.Auth.ConfirmationTag).ToArray();

        var confirmed = TranscriptHash.Confirmed(Suite, v.Hex("interim_transcript_hash_before"), content);
        Assert.Equal(v.Hex("confirmed_transcript_hash_after"), confirmed);

        using var confirmationKey = new Secret(v.Hex("confirmation_key"));
        Assert.True(TranscriptHash.VerifyConfirmationTag(Suite, confirmationKey, confirmed, tag));
        Assert.Equal(tag, TranscriptHash.ConfirmationTag(Suite, confirmationKey, confirmed));

        Assert.Equal(v.Hex("interim_transcript_hash_after"), TranscriptHash.Interim(Suite, confirmed, tag));
    }

    [Fact]
    public void Confirmed_input_is_the_authenticated_content_without_its_tag()
    {
        var bytes = Vector.Value.Hex("authenticated_content");
        var content = TlsCodec.DecodeExact<AuthenticatedContent>(bytes);
        var tagLength = content.Auth.ConfirmationTag!.Value.Length;
        var input = TranscriptHash.ConfirmedInput(content);
        Assert.Equal(bytes.AsSpan(0, bytes.Length - 1 - tagLength).ToArray(), input);
    }

    [Fact]
    public void A_wrong_tag_or_key_fails_verification()
    {
        var v = Vector.Value;
        var content = TlsCodec.DecodeExact<AuthenticatedContent>(v.Hex("authenticated_content"));
        var tag = content.Auth.ConfirmationTag!.Value.ToArray();
        var confirmed = v.Hex("confirmed_transcript_hash_after");
        using var key = new Secret(v.Hex("confirmation_key"));
        using var otherKey = new Secret(new byte[32]);
        Assert.False(TranscriptHash.VerifyConfirmationTag(Suite, otherKey, confirmed, tag));
        tag[0] ^= 1;
        Assert.False(TranscriptHash.VerifyConfirmationTag(Suite, key, confirmed, tag));
    }
}
