namespace CipherChat.Protocol.Tests;

public class NameRulesTests
{
    [Theory]
    [InlineData("alice", "alice")]
    [InlineData("Alice", "alice")]
    [InlineData("a.b_c-9", "a.b_c-9")]
    [InlineData("x", "x")]
    [InlineData("abcdefghijklmnopqrstuvwxyz012345", "abcdefghijklmnopqrstuvwxyz012345")]
    public void Valid_usernames_normalize_to_lower_case(string input, string expected)
    {
        Assert.True(NameRules.TryNormalizeUsername(input, out var name));
        Assert.Equal(expected, name);
    }

    [Theory]
    [InlineData("")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456")]
    [InlineData("al ice")]
    [InlineData("#alice")]
    [InlineData("élan")]
    [InlineData("a/b")]
    [InlineData("\u212A")] // Kelvin sign: case folding is ASCII only
    [InlineData(null)]
    public void Invalid_usernames_are_rejected(string? input)
    {
        Assert.False(NameRules.TryNormalizeUsername(input, out _));
    }

    [Theory]
    [InlineData("#Friends", "friends")]
    [InlineData("friends", "friends")]
    [InlineData("#a", "a")]
    public void Room_names_drop_one_leading_hash(string input, string expected)
    {
        Assert.True(NameRules.TryNormalizeRoomName(input, out var name));
        Assert.Equal(expected, name);
    }

    [Theory]
    [InlineData("#")]
    [InlineData("##friends")]
    [InlineData("fr#iends")]
    [InlineData("")]
    public void Invalid_room_names_are_rejected(string input)
    {
        Assert.False(NameRules.TryNormalizeRoomName(input, out _));
    }

    [Theory]
    [InlineData("@alice+bob", "@alice+bob", "alice", "bob")]
    [InlineData("@Alice+BOB", "@alice+bob", "alice", "bob")]
    [InlineData("@a+b", "@a+b", "a", "b")]
    [InlineData("@abcdefghijklmnopqrstuvwxyz012345+abcdefghijklmnopqrstuvwxyz012346", "@abcdefghijklmnopqrstuvwxyz012345+abcdefghijklmnopqrstuvwxyz012346", "abcdefghijklmnopqrstuvwxyz012345", "abcdefghijklmnopqrstuvwxyz012346")]
    public void Direct_room_names_normalize_and_name_both_users(string input, string expected, string first, string second)
    {
        Assert.True(NameRules.TryNormalizeDirectRoomName(input, out var name, out var a, out var b));
        Assert.Equal(expected, name);
        Assert.Equal(first, a);
        Assert.Equal(second, b);
        Assert.True(NameRules.TryNormalizeAnyRoomName(input, out var any));
        Assert.Equal(expected, any);
        Assert.True(NameRules.IsDirectRoomName(name));
    }

    [Theory]
    [InlineData("@bob+alice")]
    [InlineData("@alice+alice")]
    [InlineData("@Alice+alice")]
    [InlineData("@alice")]
    [InlineData("@alice+")]
    [InlineData("@+bob")]
    [InlineData("@alice+bob+carol")]
    [InlineData("alice+bob")]
    [InlineData("@al ice+bob")]
    [InlineData("@@alice+bob")]
    [InlineData("#@alice+bob")]
    [InlineData("@abcdefghijklmnopqrstuvwxyz0123456+b")]
    [InlineData(null)]
    public void Invalid_direct_room_names_are_rejected(string? input)
    {
        Assert.False(NameRules.TryNormalizeDirectRoomName(input, out _, out _, out _));
        Assert.False(NameRules.TryNormalizeAnyRoomName(input, out _));
    }

    [Fact]
    public void Direct_room_name_sorts_its_users_and_plain_room_rules_refuse_it()
    {
        Assert.Equal("@alice+bob", NameRules.DirectRoomName("Bob", "alice"));
        Assert.Equal("@alice+bob", NameRules.DirectRoomName("alice", "bob"));
        Assert.Throws<ArgumentException>(() => NameRules.DirectRoomName("alice", "ALICE"));
        Assert.Throws<ArgumentException>(() => NameRules.DirectRoomName("alice", "b c"));
        Assert.False(NameRules.TryNormalizeRoomName("@alice+bob", out _));
        Assert.True(NameRules.TryNormalizeAnyRoomName("#friends", out var plain));
        Assert.Equal("friends", plain);
    }
}
