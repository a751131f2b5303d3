using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CipherChat.Mls;
using CipherChat.Mls.Messages;

namespace CipherChat.MlsPeer;

/// <summary>The interop file formats: MLS message files, ratchet tree files, and the peer's own state files.</summary>
internal static class PeerFiles
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    public static byte[] FromHex(string hex)
    {
        var clean = new string(hex.Trim().Where(c => !char.IsWhiteSpace(c)).ToArray());
        if (clean.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            clean = clean[2..];
        }

        try
        {
            return Convert.FromHexString(clean);
        }
        catch (FormatException)
        {
            throw new PeerException("invalid hex");
        }
    }

    /// <summary>Reads a JSON object with "hex" or "base64", a text file of hex, or raw bytes.</summary>
    public static byte[] ReadBytes(string file)
    {
        var raw = File.ReadAllBytes(file);
        var text = Encoding.UTF8.GetString(raw).Trim();
        if (text.StartsWith('{'))
        {
            var json = JsonNode.Parse(text) as JsonObject ?? throw new PeerException(file + ": not a JSON object");
            if (json["hex"]?.GetValue<string>() is { } hex)
            {
                return FromHex(hex);
            }

            if (json["base64"]?.GetValue<string>() is { } b64)
            {
                return Convert.FromBase64String(b64);
            }

            throw new PeerException(file + ": JSON has neither \"hex\" nor \"base64\"");
        }

        if (text.Length > 0 && text.All(c => Uri.IsHexDigit(c) || char.IsWhiteSpace(c)))
        {
            return FromHex(text);
        }

        return raw;
    }

    public static MlsMessage ReadMessage(string file, WireFormat? expected = null)
    {
        var message = MlsMessage.FromBytes(ReadBytes(file));
        if (expected is { } wire && message.WireFormat != wire)
        {
            throw new PeerException($"expected {WireName(wire)}, got {WireName(message.WireFormat)}");
        }

        return message;
    }

    /// <summary>A KeyPackage from an MLSMessage file or, failing that, a bare KeyPackage struct.</summary>
    public static KeyPackage ReadKeyPackage(string file)
    {
        var bytes = ReadBytes(file);
        try
        {
            return MlsMessage.FromBytes(bytes).Body as KeyPackage ?? throw new PeerException(file + ": not a key package");
        }
        catch (MlsDecodeException)
        {
            var keyPackage = KeyPackage.FromBytes(bytes);
            Console.Error.WriteLine($"note: {file} is a bare KeyPackage, not an MLSMessage");
            return keyPackage;
        }
    }

    public static JsonObject MessageFile(MlsMessage message)
    {
        var bytes = message.ToBytes();
        return new JsonObject
        {
            ["type"] = "mls_message",
            ["wireformat"] = WireName(message.WireFormat),
            ["hex"] = Hex(bytes),
            ["base64"] = Convert.ToBase64String(bytes),
        };
    }

    public static JsonObject TreeFile(byte[] tree) => new()
    {
        ["type"] = "ratchet_tree",
        ["hex"] = Hex(tree),
        ["base64"] = Convert.ToBase64String(tree),
    };

    public static void WriteJson(string file, JsonNode json)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(file));
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }

        File.WriteAllText(file, json.ToJsonString(Indented) + "\n");
    }

    public static JsonObject ReadJson(string file) =>
        JsonNode.Parse(File.ReadAllText(file)) as JsonObject ?? throw new PeerException(file + ": not a JSON object");

    public static string WireName(WireFormat wire) => wire switch
    {
        WireFormat.PublicMessage => "mls_public_message",
        WireFormat.PrivateMessage => "mls_private_message",
        WireFormat.Welcome => "mls_welcome",
        WireFormat.GroupInfo => "mls_group_info",
        WireFormat.KeyPackage => "mls_key_package",
        _ => "unknown",
    };

    public static string ProposalName(ProposalType type) => type switch
    {
        ProposalType.Add => "add",
        ProposalType.Update => "update",
        ProposalType.Remove => "remove",
        ProposalType.PreSharedKey => "psk",
        ProposalType.ReInit => "reinit",
        ProposalType.ExternalInit => "external_init",
        ProposalType.GroupContextExtensions => "group_context_extensions",
        _ => ((ushort)type).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    public static string CredentialName(CredentialType type) => type switch
    {
        CredentialType.Basic => "basic",
        CredentialType.X509 => "x509",
        _ => ((ushort)type).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}

/// <summary>A failure reported to the user as one "error: ..." line.</summary>
internal sealed class PeerException(string message) : Exception(message);
