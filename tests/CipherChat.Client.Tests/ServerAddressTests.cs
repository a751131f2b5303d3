using CipherChat.Client.Net;

namespace CipherChat.Client.Tests;

public sealed class ServerAddressTests
{
    [Theory]
    [InlineData("example.org", "example.org", 12345)]
    [InlineData("127.0.0.1:4000", "127.0.0.1", 4000)]
    [InlineData("[::1]:4000", "::1", 4000)]
    [InlineData("[::1]", "::1", 12345)]
    [InlineData("::1", "::1", 12345)]
    public void Parses_host_and_port(string text, string host, int port)
    {
        var address = ServerAddress.Parse(text);
        Assert.Equal(host, address.Host);
        Assert.Equal(port, address.Port);
    }

    [Theory]
    [InlineData("")]
    [InlineData("host:0")]
    [InlineData("host:65536")]
    [InlineData("host:abc")]
    [InlineData("[::1")]
    [InlineData("a b:1")]
    public void Refuses_bad_addresses(string text)
    {
        Assert.False(ServerAddress.TryParse(text, out _));
        Assert.Throws<ChatClientException>(() => ServerAddress.Parse(text));
    }

    [Fact]
    public void Prints_ipv6_in_brackets()
    {
        Assert.Equal("[::1]:12345", new ServerAddress("::1", 12345).ToString());
        Assert.Equal("10.0.0.2:12345", new ServerAddress("10.0.0.2", 12345).ToString());
    }
}
