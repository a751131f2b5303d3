using CipherChat.Mls.Crypto;
using CipherChat.Mls.Messages;
using CipherChat.Mls.Schedule;

namespace CipherChat.Mls.Group;

/// <summary>Where a member finds the values of external PSKs (RFC 9420 §8.4) by their psk_id.</summary>
public interface IPskStore
{
    /// <summary>A copy of the PSK with this id, or null when it is unknown. The caller disposes it.</summary>
    Secret? FindExternal(ReadOnlySpan<byte> pskId);
}

/// <summary>An in-memory <see cref="IPskStore"/>.</summary>
public sealed class InMemoryPskStore : IPskStore, IDisposable
{
    private readonly Dictionary<string, Secret> _psks = new(StringComparer.Ordinal);

    public void Add(ReadOnlySpan<byte> pskId, ReadOnlySpan<byte> psk)
    {
        var key = Convert.ToHexString(pskId);
        if (_psks.Remove(key, out var old))
        {
            old.Dispose();
        }

        _psks[key] = new Secret(psk);
    }

    public Secret? FindExternal(ReadOnlySpan<byte> pskId) =>
        _psks.TryGetValue(Convert.ToHexString(pskId), out var psk) ? psk.Clone() : null;

    public void Dispose()
    {
        foreach (var psk in _psks.Values)
        {
            psk.Dispose();
        }

        _psks.Clear();
    }
}

/// <summary>Turns a list of PreSharedKeyIDs into psk_secret, looking the values up.</summary>
internal static class PskResolution
{
    public static Secret Compute(
        MlsCipherSuite suite, IReadOnlyList<PreSharedKeyId> ids, IPskStore? store, Func<PreSharedKeyId, Secret?>? resumption = null)
    {
        var inputs = new List<PskInput>(ids.Count);
        try
        {
            foreach (var id in ids)
            {
                // RFC 9420 §8.4: a PSK that is not available makes the commit or Welcome unusable.
                var value = id.PskType == PskType.External ? store?.FindExternal(id.PskId.Span) : resumption?.Invoke(id);
                if (value is null)
                {
                    throw new MlsValidationException("Unknown pre-shared key.");
                }

                inputs.Add(new PskInput(id, value));
            }

            return PskSecret.Compute(suite, inputs);
        }
        finally
        {
            foreach (var input in inputs)
            {
                input.Psk.Dispose();
            }
        }
    }
}
