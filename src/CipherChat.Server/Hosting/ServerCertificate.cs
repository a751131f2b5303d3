using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CipherChat.Server.Hosting;

/// <summary>The server's TLS certificate: the operator's PFX, or a self-signed one kept in the data folder.</summary>
public static class ServerCertificate
{
    /// <summary>File name of the self-signed certificate inside the data folder.</summary>
    public const string SelfSignedFileName = "server-certificate.pfx";

    /// <summary>
    /// Loads the self-signed certificate from <paramref name="dataDirectory"/>, creating it on first use:
    /// ECDSA P-256, valid 20 years (clients pin it, so it should outlive the installation). The PFX file
    /// is readable by the owner only.
    /// </summary>
    public static X509Certificate2 LoadOrCreateSelfSigned(string dataDirectory, string subjectName = "CipherChat server")
    {
        DataDirectory.Ensure(dataDirectory);
        var path = Path.Combine(dataDirectory, SelfSignedFileName);
        if (File.Exists(path))
        {
            return X509CertificateLoader.LoadPkcs12FromFile(path, password: null, X509KeyStorageFlags.EphemeralKeySet);
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName("CN=" + subjectName), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(20));
        var pfx = certificate.Export(X509ContentType.Pkcs12);
        try
        {
            // Write to a temporary name first so a crash never leaves a half-written certificate.
            var temporary = path + ".tmp";
            using (var stream = OwnerOnlyFile(temporary))
            {
                stream.Write(pfx);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: false);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pfx);
        }

        return X509CertificateLoader.LoadPkcs12FromFile(path, password: null, X509KeyStorageFlags.EphemeralKeySet);
    }

    /// <summary>Loads an operator-supplied PFX certificate, which must hold a private key.</summary>
    public static X509Certificate2 LoadPfx(string path, string? password)
    {
        var certificate = X509CertificateLoader.LoadPkcs12FromFile(path, password, X509KeyStorageFlags.EphemeralKeySet);
        if (!certificate.HasPrivateKey)
        {
            certificate.Dispose();
            throw new InvalidOperationException("The certificate file has no private key.");
        }

        return certificate;
    }

    private static FileStream OwnerOnlyFile(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        return new FileStream(path, options);
    }
}

/// <summary>The server's data folder.</summary>
public static class DataDirectory
{
    /// <summary>Creates the folder when missing (owner-only on Unix).</summary>
    public static void Ensure(string path)
    {
        if (Directory.Exists(path))
        {
            return;
        }

        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }
}
