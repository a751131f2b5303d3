using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using CipherChat.Client.Storage;

namespace CipherChat.Cli;

/// <summary>How <c>read</c> prints a message: a human line, or one JSON object per line.</summary>
public static class MessageFormat
{
    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = false };

    /// <summary><c>[2026-11-27 14:03] alice: hello</c> in local time; undecryptable or forged messages say so.</summary>
    public static string Human(StoredMessage message, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(zone);
        var when = TimeZoneInfo.ConvertTime(message.SentAt ?? message.ServerTime, zone);
        var stamp = when.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
        var body = message.Text is not null ? Printable(message.Text) : $"[{message.Error}]";
        return $"[{stamp}] {message.Sender}: {body}";
    }

    /// <summary>
    /// One JSON object: id, room, seq, from (the server-authenticated sender), sent_at, server_time,
    /// received_at, then "text" or "error". Times are ISO 8601 with offset. <paramref name="room"/> is the
    /// room as the reader names it (a direct conversation is "@USER"); the stored name by default.
    /// </summary>
    public static string Json(StoredMessage message, string? room = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, JsonOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("id", message.MessageId);
            writer.WriteString("room", room ?? message.Room);
            writer.WriteNumber("seq", message.Seq);
            writer.WriteString("from", message.Sender);
            writer.WriteString("sent_at", Iso(message.SentAt ?? message.ServerTime));
            writer.WriteString("server_time", Iso(message.ServerTime));
            writer.WriteString("received_at", Iso(message.ReceivedAt));
            if (message.Text is not null)
            {
                writer.WriteString("text", message.Text);
            }
            else
            {
                writer.WriteString("error", message.Error ?? "unknown error");
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static string Iso(DateTimeOffset time) => time.ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture);

    /// <summary>
    /// Message text comes from other people: control characters (terminal escapes) are replaced, and
    /// line breaks are indented so a message cannot pose as several.
    /// </summary>
    internal static string Printable(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text.ReplaceLineEndings("\n"))
        {
            if (c == '\n')
            {
                builder.Append("\n    ");
            }
            else if (c == '\t')
            {
                builder.Append(c);
            }
            else if (char.IsControl(c) || c is '\u202A' or '\u202B' or '\u202C' or '\u202D' or '\u202E' or '\u2066' or '\u2067' or '\u2068' or '\u2069')
            {
                builder.Append('\uFFFD');
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }
}
