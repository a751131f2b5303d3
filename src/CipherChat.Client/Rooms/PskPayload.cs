using System.Globalization;
using System.Text;
using System.Text.Json;

namespace CipherChat.Client.Rooms;

/// <summary>
/// The plaintext inside a PSK room's Fernet token: UTF-8 JSON
/// <c>{"v":1,"from":NAME,"sent_at":ISO 8601 with offset,"id":MESSAGE ID,"text":TEXT}</c>.
/// Unknown members are ignored so later versions can add some.
/// </summary>
public static class PskPayload
{
    public const int Version = 1;

    private static readonly JsonDocumentOptions ParseOptions = new() { MaxDepth = 4, AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow };

    public static byte[] Encode(OutgoingContent content)
    {
        ArgumentNullException.ThrowIfNull(content);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("v", Version);
            writer.WriteString("from", content.From);
            writer.WriteString("sent_at", FormatTime(content.SentAt));
            writer.WriteString("id", content.MessageId);
            writer.WriteString("text", content.Text);
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>The decoded members, or an error text when the bytes are not a valid version-1 payload.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> json, out OutgoingContent? content, out string? error)
    {
        content = null;
        try
        {
            using var doc = JsonDocument.Parse(json.ToArray(), ParseOptions);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "not a CipherChat message (the decrypted content is not a JSON object)";
                return false;
            }

            if (!root.TryGetProperty("v", out var v) || v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var version))
            {
                error = "not a CipherChat message (no format version)";
                return false;
            }

            if (version != Version)
            {
                error = $"message format version {version.ToString(CultureInfo.InvariantCulture)} is not supported by this cipherchat";
                return false;
            }

            if (!TryString(root, "from", out var from) || !TryString(root, "sent_at", out var sentAtText) ||
                !TryString(root, "id", out var id) || !TryString(root, "text", out var text))
            {
                error = "not a CipherChat message (a member is missing or not a string)";
                return false;
            }

            if (!DateTimeOffset.TryParse(sentAtText, CultureInfo.InvariantCulture, DateTimeStyles.None, out var sentAt))
            {
                error = "not a CipherChat message (sent_at is not a time)";
                return false;
            }

            content = new OutgoingContent(id, from, sentAt, text);
            error = null;
            return true;
        }
        catch (JsonException)
        {
            error = "not a CipherChat message (the decrypted content is not valid JSON)";
            return false;
        }
        catch (DecoderFallbackException)
        {
            error = "not a CipherChat message (invalid UTF-8)";
            return false;
        }
    }

    internal static string FormatTime(DateTimeOffset time) =>
        time.ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture);

    private static bool TryString(JsonElement root, string name, out string value)
    {
        value = string.Empty;
        if (!root.TryGetProperty(name, out var element) || element.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        value = element.GetString() ?? string.Empty;
        return true;
    }
}
