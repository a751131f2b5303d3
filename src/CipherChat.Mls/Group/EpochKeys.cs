using CipherChat.Mls.Codec;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Schedule;

namespace CipherChat.Mls.Group;

/// <summary>
/// The secrets of the current epoch that the group keeps after the secret tree has taken the encryption secret
/// (RFC 9420 §8). The joiner and welcome secrets are not kept: they are used once, while committing or joining.
/// </summary>
internal sealed class EpochKeys : IDisposable
{
    private EpochKeys(Secret[] secrets)
    {
        InitSecret = secrets[0];
        SenderDataSecret = secrets[1];
        ExporterSecret = secrets[2];
        ExternalSecret = secrets[3];
        ConfirmationKey = secrets[4];
        MembershipKey = secrets[5];
        ResumptionPsk = secrets[6];
        EpochAuthenticator = secrets[7];
    }

    public Secret InitSecret { get; }

    public Secret SenderDataSecret { get; }

    public Secret ExporterSecret { get; }

    public Secret ExternalSecret { get; }

    public Secret ConfirmationKey { get; }

    public Secret MembershipKey { get; }

    public Secret ResumptionPsk { get; }

    public Secret EpochAuthenticator { get; }

    private Secret[] All => [InitSecret, SenderDataSecret, ExporterSecret, ExternalSecret, ConfirmationKey, MembershipKey, ResumptionPsk, EpochAuthenticator];

    public static EpochKeys From(EpochSecrets secrets) => new(
    [
        secrets.InitSecret.Clone(), secrets.SenderDataSecret.Clone(), secrets.ExporterSecret.Clone(), secrets.ExternalSecret.Clone(),
        secrets.ConfirmationKey.Clone(), secrets.MembershipKey.Clone(), secrets.ResumptionPsk.Clone(), secrets.EpochAuthenticator.Clone(),
    ]);

    /// <summary>RFC 9420 §8.5 MLS-Exporter.</summary>
    public Secret Export(MlsCipherSuite suite, string label, ReadOnlySpan<byte> context, int length)
    {
        using var derived = suite.DeriveSecret(ExporterSecret, label);
        return suite.ExpandWithLabel(derived, "exported", suite.Hash(context), length);
    }

    public void Write(TlsWriter writer)
    {
        foreach (var secret in All)
        {
            writer.WriteVector(secret.Span);
        }
    }

    public static EpochKeys Read(ref TlsReader reader)
    {
        var secrets = new Secret[8];
        for (var i = 0; i < secrets.Length; i++)
        {
            secrets[i] = new Secret(reader.ReadVector());
        }

        return new EpochKeys(secrets);
    }

    public void Dispose()
    {
        foreach (var secret in All)
        {
            secret.Dispose();
        }
    }
}
