using System.Text;

namespace CipherChat.Protocol.Tests;

public class AuthTranscriptTests
{
    [Fact]
    public void Login_transcript_is_length_prefixed_fields()
    {
        var challenge = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var expected = new List<byte>();
        void Field(byte[] bytes)
        {
            expected.Add((byte)(bytes.Length >> 8));
            expected.Add((byte)bytes.Length);
            expected.AddRange(bytes);
        }

        Field(Encoding.ASCII.GetBytes("CipherChat login v1"));
        Field(challenge);
        Field(Encoding.UTF8.GetBytes("Alice"));

        Assert.Equal(expected.ToArray(), AuthTranscript.ForLogin(challenge, "Alice"));
    }

    [Fact]
    public void Register_transcript_adds_the_public_key_and_differs_from_login()
    {
        var challenge = new byte[32];
        var key = Enumerable.Repeat((byte)7, 32).ToArray();
        var register = AuthTranscript.ForRegister(challenge, "bob", key);
        var login = AuthTranscript.ForLogin(challenge, "bob");

        Assert.NotEqual(login, register);
        Assert.Equal(key, register[^32..]);
        Assert.Equal(new byte[] { 0, 32 }, register[^34..^32]);
    }

    [Fact]
    public void Field_boundaries_cannot_be_shifted()
    {
        // Without length prefixes, ("ab", "c") and ("a", "bc") would sign the same bytes.
        var c1 = Encoding.ASCII.GetBytes("ab");
        Assert.NotEqual(AuthTranscript.ForLogin(c1, "c"), AuthTranscript.ForLogin(c1[..1], "bc"));
    }
}
