using System.Text;
using CipherChat.Server.Redis;

namespace CipherChat.Cluster.Tests;

/// <summary>The Redis notifications "seq:room" and "members:seq:room" are parsed as untrusted input; no services needed.</summary>
public sealed class NotificationFormatTests
{
    [Fact]
    public void A_well_formed_notification_parses()
    {
        Assert.True(RedisClusterBus.TryParse("42:team"u8, out var room, out var seq));
        Assert.Equal(("team", 42UL), (room, seq));
        Assert.True(RedisClusterBus.TryParse("7:@alice+bob"u8, out var direct, out _));
        Assert.Equal("@alice+bob", direct);
    }

    [Theory]
    [InlineData("")]
    [InlineData(":team")]
    [InlineData("42:")]
    [InlineData("0:team")]
    [InlineData("-1:team")]
    [InlineData("+1:team")]
    [InlineData("1 :team")]
    [InlineData("99999999999999999999999:team")]
    [InlineData("1:Team")]
    [InlineData("1:te am")]
    [InlineData("1:#team")]
    [InlineData("1:@bob+alice")]
    [InlineData("1:@Alice+bob")]
    [InlineData("1:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("team")]
    public void Malformed_notifications_are_refused(string text)
    {
        Assert.False(RedisClusterBus.TryParse(Encoding.UTF8.GetBytes(text), out _, out _));
    }

    [Fact]
    public void Invalid_UTF8_is_refused()
    {
        Assert.False(RedisClusterBus.TryParse([(byte)'1', (byte)':', 0xC3, 0x28], out _, out _));
    }

    [Fact]
    public void A_well_formed_membership_notification_parses()
    {
        Assert.True(RedisClusterBus.TryParseMembership("members:42:team"u8, out var room, out var seq));
        Assert.Equal(("team", 42UL), (room, seq));

        // Seq 0: a member left without a commit.
        Assert.True(RedisClusterBus.TryParseMembership("members:0:@alice+bob"u8, out var direct, out var none));
        Assert.Equal(("@alice+bob", 0UL), (direct, none));
    }

    [Fact]
    public void The_two_kinds_are_not_mistaken_for_each_other()
    {
        Assert.False(RedisClusterBus.TryParse("members:42:team"u8, out _, out _));
        Assert.False(RedisClusterBus.TryParseMembership("42:team"u8, out _, out _));
    }

    [Theory]
    [InlineData("members:")]
    [InlineData("members::team")]
    [InlineData("members:42:")]
    [InlineData("members:-1:team")]
    [InlineData("members:+1:team")]
    [InlineData("members:99999999999999999999999:team")]
    [InlineData("members:1:Team")]
    [InlineData("members:1:#team")]
    [InlineData("members:1:@bob+alice")]
    [InlineData("Members:1:team")]
    [InlineData("member:1:team")]
    [InlineData("members1:team")]
    [InlineData(" members:1:team")]
    public void Malformed_membership_notifications_are_refused(string text)
    {
        Assert.False(RedisClusterBus.TryParseMembership(Encoding.UTF8.GetBytes(text), out _, out _));
    }

    [Fact]
    public void Invalid_UTF8_in_a_membership_notification_is_refused()
    {
        Assert.False(RedisClusterBus.TryParseMembership([.. "members:1:"u8, 0xC3, 0x28], out _, out _));
    }
}
