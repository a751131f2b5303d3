using System.Globalization;
using System.Text;
using System.Text.Json;
using CipherChat.Client.Fernet;

namespace CipherChat.Client.Tests.Fernet;

public class FernetTokenTests
{
    public static TheoryData<string> GenerateCases() => Names("generate.json", "generate");

    public static TheoryData<string> VerifyCases() => Names("verify.json", "verify");

    public static TheoryData<string> InvalidCases() => Names("invalid.json", null);

    [Theory]
    [MemberData(nameof(GenerateCases))]
    public void Generate_matches_the_vector_token(string name)
    {
        var vector = Find("generate.json", name, null);
        using var key = FernetKey.Parse(vector.GetProperty("secret").GetString()!);
        var iv = vector.GetProperty("iv").EnumerateArray().Select(b => (byte)b.GetInt32()).ToArray();

        var token = FernetToken.Encrypt(key, Encoding.UTF8.GetBytes(vector.GetProperty("src").GetString()!), Time(vector), iv);

        Assert.Equal(vector.GetProperty("token").GetString(), token);
    }

    [Theory]
    [MemberData(nameof(VerifyCases))]
    public void Verify_recovers_the_source(string name)
    {
        var vector = Find("verify.json", name, null);
        using var key = FernetKey.Parse(vector.GetProperty("secret").GetString()!);

        var plaintext = FernetToken.Decrypt(key, vector.GetProperty("token").GetString()!, Time(vector), Ttl(vector));

        Assert.Equal(vector.GetProperty("src").GetString(), Encoding.UTF8.GetString(plaintext));
    }

    [Theory]
    [MemberData(nameof(InvalidCases))]
    public void Invalid_tokens_are_refused(string desc)
    {
        var vector = Find("invalid.json", null, desc);
        using var key = FernetKey.Parse(vector.GetProperty("secret").GetString()!);

        Assert.Throws<FernetException>(() => FernetToken.Decrypt(key, vector.GetProperty("token").GetString()!, Time(vector), Ttl(vector)));
    }

    [Fact]
    public void Round_trip_with_a_generated_key_and_empty_and_block_sized_messages()
    {
        using var key = FernetKey.Generate();
        var now = DateTimeOffset.UtcNow;
        foreach (var length in new[] { 0, 1, 15, 16, 17, 1000 })
        {
            var message = Enumerable.Range(0, length).Select(i => (byte)i).ToArray();
            var token = FernetToken.Encrypt(key, message, now);
            Assert.Equal(message, FernetToken.Decrypt(key, token, now, TimeSpan.FromMinutes(1)));
        }
    }

    [Fact]
    public void Two_encryptions_of_one_message_differ()
    {
        using var key = FernetKey.Generate();
        var now = DateTimeOffset.UtcNow;
        Assert.NotEqual(FernetToken.Encrypt(key, "same"u8, now), FernetToken.Encrypt(key, "same"u8, now));
    }

    [Fact]
    public void A_token_does_not_open_with_another_key()
    {
        using var key = FernetKey.Generate();
        using var other = FernetKey.Generate();
        var token = FernetToken.Encrypt(key, "secret text"u8, DateTimeOffset.UtcNow);

        var error = Assert.Throws<FernetException>(() => FernetToken.Decrypt(other, token, DateTimeOffset.UtcNow));
        Assert.Contains("wrong key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_single_bit_flip_is_detected()
    {
        using var key = FernetKey.Generate();
        var raw = Convert.FromBase64String(ToStandardBase64(FernetToken.Encrypt(key, "hello"u8, DateTimeOffset.UtcNow)));
        for (var bit = 0; bit < raw.Length * 8; bit++)
        {
            var copy = (byte[])raw.Clone();
            copy[bit / 8] ^= (byte)(1 << (bit % 8));
            var tampered = Convert.ToBase64String(copy).Replace('+', '-').Replace('/', '_');
            Assert.Throws<FernetException>(() => FernetToken.Decrypt(key, tampered, DateTimeOffset.UtcNow));
        }
    }

    [Fact]
    public void Generated_key_is_44_characters_of_url_safe_base64_and_parses_back()
    {
        using var key = FernetKey.Generate();
        var text = key.Export();

        Assert.Equal(44, text.Length);
        Assert.Matches("^[A-Za-z0-9_-]{43}=$", text);
        using var parsed = FernetKey.Parse(text);
        Assert.Equal(text, parsed.Export());
        Assert.DoesNotContain(text, key.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not a key")]
    [InlineData("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e")]
    [InlineData("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=AAAA")]
    [InlineData("cw/0x689RpI+jtRR7oE8h/eQsKImvJapLeSbXpwF4e4=")]
    public void Malformed_keys_are_refused(string text)
    {
        Assert.Throws<FernetException>(() => FernetKey.Parse(text));
    }

    private static string ToStandardBase64(string token) => token.Replace('-', '+').Replace('_', '/');

    private static TheoryData<string> Names(string file, string? prefix)
    {
        var data = new TheoryData<string>();
        var index = 0;
        foreach (var vector in FernetVectors.Load(file))
        {
            data.Add(prefix is null ? vector.GetProperty("desc").GetString()! : $"{prefix}-{index}");
            index++;
        }

        return data;
    }

    private static JsonElement Find(string file, string? name, string? desc)
    {
        var vectors = FernetVectors.Load(file).ToList();
        if (desc is not null)
        {
            return vectors.Single(v => v.GetProperty("desc").GetString() == desc);
        }

        ArgumentNullException.ThrowIfNull(name);
        return vectors[int.Parse(name[(name.LastIndexOf('-') + 1)..], CultureInfo.InvariantCulture)];
    }

    private static DateTimeOffset Time(JsonElement vector) =>
        DateTimeOffset.Parse(vector.GetProperty("now").GetString()!, CultureInfo.InvariantCulture);

    private static TimeSpan? Ttl(JsonElement vector) =>
        vector.TryGetProperty("ttl_sec", out var ttl) ? TimeSpan.FromSeconds(ttl.GetInt32()) : null;
}
