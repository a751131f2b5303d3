using System.Text.Json.Serialization;

namespace CipherChat.Client.Mls;

/// <summary>
/// Compile-time JSON for the stored member lists (epoch → leaf → user): no reflection, so it also works
/// in the natively compiled <c>cipherchat</c>.
/// </summary>
[JsonSerializable(typeof(Dictionary<string, Dictionary<string, string>>))]
internal sealed partial class RosterJsonContext : JsonSerializerContext;
