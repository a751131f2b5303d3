using System.Text.Json;

namespace CipherChat.Mls.Tests.Support;

/// <summary>
/// Locates and loads the official test vectors. They live outside the repository, in
/// <c>../shared/vectors</c> relative to the repository root, unless an environment variable
/// points elsewhere (<c>CIPHERCHAT_MLS_VECTORS</c>, <c>CIPHERCHAT_HPKE_VECTORS</c>).
/// </summary>
internal static class TestVectors
{
    public static string MlsFolder => Resolve("CIPHERCHAT_MLS_VECTORS", "mls");

    public static string HpkeFolder => Resolve("CIPHERCHAT_HPKE_VECTORS", "hpke");

    public static JsonElement LoadMls(string fileName) => Load(Path.Combine(MlsFolder, fileName));

    public static JsonElement LoadHpke(string fileName) => Load(Path.Combine(HpkeFolder, fileName));

    public static byte[] Hex(this JsonElement element) => Convert.FromHexString(element.GetString() ?? "");

    public static byte[] Hex(this JsonElement element, string property) => element.GetProperty(property).Hex();

    public static JsonElement Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"Test vector file not found: {path}. Set CIPHERCHAT_MLS_VECTORS / CIPHERCHAT_HPKE_VECTORS to the vectors folder.",
                path);
        }

        using var stream = File.OpenRead(path);
        using var document = JsonDocument.Parse(stream);
        return document.RootElement.Clone();
    }

    private static string Resolve(string variable, string subfolder)
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return Path.GetFullPath(fromEnvironment);
        }

        return Path.Combine(RepositoryRoot(), "..", "shared", "vectors", subfolder);
    }

    /// <summary>The folder holding CipherChat.slnx, found by walking up from the test binaries.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "CipherChat.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Cannot find the repository root (CipherChat.slnx) above " + AppContext.BaseDirectory);
    }
}
