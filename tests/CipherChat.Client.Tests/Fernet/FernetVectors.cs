using System.Text.Json;

namespace CipherChat.Client.Tests.Fernet;

/// <summary>
/// Loads the Fernet acceptance vectors from <c>../shared/vectors/fernet</c> beside the repository root,
/// or from the folder named by <c>CIPHERCHAT_FERNET_VECTORS</c>.
/// </summary>
internal static class FernetVectors
{
    public static IEnumerable<JsonElement> Load(string fileName)
    {
        var folder = Environment.GetEnvironmentVariable("CIPHERCHAT_FERNET_VECTORS");
        if (string.IsNullOrWhiteSpace(folder))
        {
            folder = Path.Combine(RepositoryRoot(), "..", "shared", "vectors", "fernet");
        }

        var path = Path.Combine(folder, fileName);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Fernet vector file not found: {path}. Set CIPHERCHAT_FERNET_VECTORS.", path);
        }

        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return document.RootElement.EnumerateArray().Select(e => e.Clone()).ToList();
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "CipherChat.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Cannot find the repository root (CipherChat.slnx).");
    }
}
