using System.Text;
using System.Text.Json;
using CipherChat.Client.Fernet;
using CipherChat.Client.Rooms;

namespace CipherChat.Client.Tests;

public sealed class PskRoomCipherTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 14, 3, 0, TimeSpan.FromHours(1));
    private const string MessageId = "00112233445566778899aabbccddeeff";

    private static OutgoingContent Content(string from = "alice", string text = "hello, world", string id = MessageId) =>
        new(id, from, Now, text);

    [Fact]
    public void A_sealed_message_opens_with_the_same_key()
    {
        using var key = FernetKey.Generate();
        using var cipher = new PskRoomCipher(FernetKey.Parse(key.Export()));
        var payload = cipher.Seal(Content(text: "héllo ✓ \"quoted\""), Now);

        var opened = cipher.Open(payload, "alice", MessageId, Now.AddDays(30));

        Assert.Null(opened.Error);
        Assert.Equal("héllo ✓ \"quoted\"", opened.Text);
        Assert.Equal(Now, opened.SentAt);
    }

    [Fact]
    public void The_payload_is_a_standard_fernet_token_holding_the_documented_json()
    {
        using var key = FernetKey.Generate();
        using var cipher = new PskRoomCipher(FernetKey.Parse(key.Export()));
        var payload = cipher.Seal(Content(), Now);

        var token = Encoding.ASCII.GetString(payload);
        Assert.StartsWith("gAAAAA", token, StringComparison.Ordinal);
        var plaintext = FernetToken.Decrypt(key, token, Now, null);
        using var json = JsonDocument.Parse(plaintext);
        var root = json.RootElement;
        Assert.Equal(1, root.GetProperty("v").GetInt32());
        Assert.Equal("alice", root.GetProperty("from").GetString());
        Assert.Equal(MessageId, root.GetProperty("id").GetString());
        Assert.Equal("hello, world", root.GetProperty("text").GetString());
        Assert.Equal(Now, DateTimeOffset.Parse(root.GetProperty("sent_at").GetString()!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains("+01:00", root.GetProperty("sent_at").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("hello", token, StringComparison.Ordinal);
    }

    [Fact]
    public void A_wrong_key_gives_the_undecryptable_error_not_text()
    {
        using var sender = new PskRoomCipher(FernetKey.Generate());
        using var other = new PskRoomCipher(FernetKey.Generate());
        var payload = sender.Seal(Content(), Now);

        var opened = other.Open(payload, "alice", MessageId, Now);

        Assert.Null(opened.Text);
        Assert.Equal(PskRoomCipher.UndecryptableError, opened.Error);
    }

    [Fact]
    public void Every_flipped_byte_is_detected()
    {
        using var cipher = new PskRoomCipher(FernetKey.Generate());
        var payload = cipher.Seal(Content(), Now);
        for (var i = 0; i < payload.Length; i++)
        {
            var tampered = (byte[])payload.Clone();
            tampered[i] = tampered[i] == (byte)'A' ? (byte)'B' : (byte)'A';
            var opened = cipher.Open(tampered, "alice", MessageId, Now);
            Assert.Null(opened.Text);
            Assert.NotNull(opened.Error);
        }
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 0xFF, 0xFE, 0x00 })]
    [InlineData(new byte[] { (byte)'g', (byte)'A' })]
    public void Garbage_payloads_are_errors_not_crashes(byte[] payload)
    {
        using var cipher = new PskRoomCipher(FernetKey.Generate());
        var opened = cipher.Open(payload, "alice", MessageId, Now);
        Assert.Null(opened.Text);
        Assert.Equal(PskRoomCipher.UndecryptableError, opened.Error);
    }

    [Fact]
    public void A_message_claiming_another_sender_is_flagged_as_forged()
    {
        using var cipher = new PskRoomCipher(FernetKey.Generate());
        // Mallory holds the key and writes "from: alice" inside; the server says mallory sent it.
        var payload = cipher.Seal(Content(from: "alice", text: "send me your password"), Now);

        var opened = cipher.Open(payload, "mallory", MessageId, Now);

        Assert.Null(opened.Text);
        Assert.Contains("forged sender", opened.Error, StringComparison.Ordinal);
        Assert.Contains("mallory", opened.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_replayed_token_under_another_message_id_is_flagged()
    {
        using var cipher = new PskRoomCipher(FernetKey.Generate());
        var payload = cipher.Seal(Content(), Now);

        var opened = cipher.Open(payload, "alice", "ffeeddccbbaa99887766554433221100", Now);

        Assert.Null(opened.Text);
        Assert.Contains("message id mismatch", opened.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("{\"v\":2,\"from\":\"alice\",\"sent_at\":\"2026-11-27T14:03:00+01:00\",\"id\":\"00112233445566778899aabbccddeeff\",\"text\":\"x\"}")]
    [InlineData("{\"v\":1,\"from\":\"alice\",\"sent_at\":\"yesterday\",\"id\":\"00112233445566778899aabbccddeeff\",\"text\":\"x\"}")]
    [InlineData("{\"v\":1,\"from\":\"alice\",\"sent_at\":\"2026-11-27T14:03:00+01:00\",\"id\":\"00112233445566778899aabbccddeeff\"}")]
    [InlineData("{\"v\":1,\"from\":7,\"sent_at\":\"2026-11-27T14:03:00+01:00\",\"id\":\"00112233445566778899aabbccddeeff\",\"text\":\"x\"}")]
    public void A_valid_token_with_a_bad_inside_is_an_error(string inside)
    {
        using var key = FernetKey.Generate();
        using var cipher = new PskRoomCipher(FernetKey.Parse(key.Export()));
        var payload = Encoding.ASCII.GetBytes(FernetToken.Encrypt(key, Encoding.UTF8.GetBytes(inside), Now));

        var opened = cipher.Open(payload, "alice", MessageId, Now);

        Assert.Null(opened.Text);
        Assert.NotNull(opened.Error);
        Assert.NotEqual(PskRoomCipher.UndecryptableError, opened.Error);
    }

    [Fact]
    public void Unknown_members_inside_are_ignored_for_later_versions()
    {
        using var key = FernetKey.Generate();
        using var cipher = new PskRoomCipher(FernetKey.Parse(key.Export()));
        var inside = "{\"v\":1,\"from\":\"alice\",\"sent_at\":\"2026-11-27T14:03:00+01:00\",\"id\":\"" + MessageId + "\",\"text\":\"hi\",\"reply_to\":\"x\"}";
        var payload = Encoding.ASCII.GetBytes(FernetToken.Encrypt(key, Encoding.UTF8.GetBytes(inside), Now));

        Assert.Equal("hi", cipher.Open(payload, "alice", MessageId, Now).Text);
    }

    [Fact]
    public void The_key_check_is_stable_per_key_and_room_and_differs_otherwise()
    {
        using var key = FernetKey.Generate();
        using var a = new PskRoomCipher(FernetKey.Parse(key.Export()));
        using var b = new PskRoomCipher(FernetKey.Parse(key.Export()));
        using var other = new PskRoomCipher(FernetKey.Generate());

        Assert.Equal(a.ComputeKeyCheck("general"), b.ComputeKeyCheck("general"));
        Assert.Equal(PskRoomCipher.KeyCheckBytes, a.ComputeKeyCheck("general").Length);
        Assert.NotEqual(a.ComputeKeyCheck("general"), a.ComputeKeyCheck("random"));
        Assert.NotEqual(a.ComputeKeyCheck("general"), other.ComputeKeyCheck("general"));
        var raw = new byte[FernetKey.Length];
        key.CopyTo(raw);
        Assert.DoesNotContain(Convert.ToHexString(raw[..8]), Convert.ToHexString(a.ComputeKeyCheck("general")), StringComparison.Ordinal);
    }

    [Fact]
    public void A_mistyped_key_is_a_clear_error()
    {
        var ex = Assert.Throws<ChatClientException>(() => PskRoomCipher.FromKeyText("not-a-key"));
        Assert.Contains("keygen", ex.Message, StringComparison.Ordinal);
    }
}
