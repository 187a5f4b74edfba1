import NIOSSL

/// Certificates for the fake API server's TLS (made with openssl, valid until 2126): a CA, the
/// server's certificate (IP 127.0.0.1, DNS localhost) and a client certificate
/// (CN=system:serviceaccount:claiflow:agent), both signed by the CA, with their P-256 keys.
public enum FakeKubernetesTLS {
    /// The CA certificate, PEM.
    public static let certificateAuthorityPEM = """
        -----BEGIN CERTIFICATE-----
        MIIBnTCCAUOgAwIBAgIUaB2HOs2CYxkWlFlpg/4eZZYDzwgwCgYIKoZIzj0EAwIw
        GzEZMBcGA1UEAwwQY2xhaWZsb3ctdGVzdC1jYTAgFw0yNjExMjUxOTAzNTVaGA8y
        MTI2MTEwMTE5MDM1NVowGzEZMBcGA1UEAwwQY2xhaWZsb3ctdGVzdC1jYTBZMBMG
        ByqGSM49AgEGCCqGSM49AwEHA0IABDQyplqOaEIaaGDwMOrbH97U9JbQwW5w7w/7
        YykVyKy/FEsEMMrUlxmsZmZedPwXO9rKBgkCC3PKpveWll3D3S2jYzBhMB0GA1Ud
        DgQWBBRu+s+FXAhHPNzBGGczRaAvdtf/1DAfBgNVHSMEGDAWgBRu+s+FXAhHPNzB
        GGczRaAvdtf/1DAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjAKBggq
        hkjOPQQDAgNIADBFAiEA/cVFRiNmTK+kPjYW+KshR+rcU+kmvcOTLsGrq15vA/wC
        IEohPDLq3mcNnYeTGWwhMFNHHfjboBZpuPaz5v1m7rV1
        -----END CERTIFICATE-----
        """

    /// The server's certificate, PEM.
    public static let serverCertificatePEM = """
        -----BEGIN CERTIFICATE-----
        MIIBsDCCAVegAwIBAgIUY3xTrKJmb4Df+0NeQ1kNNQHD7gAwCgYIKoZIzj0EAwIw
        GzEZMBcGA1UEAwwQY2xhaWZsb3ctdGVzdC1jYTAgFw0yNjExMjUxOTAzNTVaGA8y
        MTI2MTEwMTE5MDM1NVowFDESMBAGA1UEAwwJMTI3LjAuMC4xMFkwEwYHKoZIzj0C
        AQYIKoZIzj0DAQcDQgAEiLwM8pWALNmK6UrE89TDlwQ+YpZR44KABB3kARKD95oT
        0EKrZETOFaXH4xZ74PBbOAULTGwbCItywIr6UPO2fqN+MHwwGgYDVR0RBBMwEYcE
        fwAAAYIJbG9jYWxob3N0MBMGA1UdJQQMMAoGCCsGAQUFBwMBMAkGA1UdEwQCMAAw
        HQYDVR0OBBYEFBiyMXYdAhg8U0cVv3gcS2wSEE4bMB8GA1UdIwQYMBaAFG76z4Vc
        CEc83MEYZzNFoC921//UMAoGCCqGSM49BAMCA0cAMEQCIFx0GYc2M9Y4PtxcopYB
        Qe3Z38I4vynvXqamUNbx9gnoAiAZlXopo5CFx3RwdgmG07zq+9p8ChqkOOAowdWx
        1F12ng==
        -----END CERTIFICATE-----
        """

    /// The server's private key, PEM.
    public static let serverKeyPEM = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQguWkK967Jf3hpUo8K
        3tj485HbtKSlzTgLu6wyKrn7xRyhRANCAASIvAzylYAs2YrpSsTz1MOXBD5illHj
        goAEHeQBEoP3mhPQQqtkRM4VpcfjFnvg8Fs4BQtMbBsIi3LAivpQ87Z+
        -----END PRIVATE KEY-----
        """

    /// The client certificate, PEM.
    public static let clientCertificatePEM = """
        -----BEGIN CERTIFICATE-----
        MIIBsTCCAVagAwIBAgIUY3xTrKJmb4Df+0NeQ1kNNQHD7gEwCgYIKoZIzj0EAwIw
        GzEZMBcGA1UEAwwQY2xhaWZsb3ctdGVzdC1jYTAgFw0yNjExMjUxOTAzNTVaGA8y
        MTI2MTEwMTE5MDM1NVowLzEtMCsGA1UEAwwkc3lzdGVtOnNlcnZpY2VhY2NvdW50
        OmNsYWlmbG93OmFnZW50MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAElEJogN/z
        BzHXUU3G7fRg7cRPEVWX0Dl1gegY5gMxYo3rklstLdp1+jcHB3yLgkI+pqJy4pVZ
        TIOkfonagehxx6NiMGAwEwYDVR0lBAwwCgYIKwYBBQUHAwIwCQYDVR0TBAIwADAd
        BgNVHQ4EFgQUw/fMMYvCPVn/IiJZ8EBFHreK/gowHwYDVR0jBBgwFoAUbvrPhVwI
        RzzcwRhnM0WgL3bX/9QwCgYIKoZIzj0EAwIDSQAwRgIhAKE6cqFWWyT+O9qDPxhq
        /27NDD04uwmfboKL6RejXsd/AiEAqYjvDvhT/A44zOi04EmC+6WmzksOqEAy0zHg
        77a2POA=
        -----END CERTIFICATE-----
        """

    /// The client's private key, PEM.
    public static let clientKeyPEM = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgl02PZxhqf1bNQ1S6
        p3AC5E9szmBqORBVuW8zWC+C1w2hRANCAASUQmiA3/MHMddRTcbt9GDtxE8RVZfQ
        OXWB6BjmAzFijeuSWy0t2nX6NwcHfIuCQj6monLilVlMg6R+idqB6HHH
        -----END PRIVATE KEY-----
        """

    /// A server configuration with the server certificate that requires a client certificate
    /// signed by the CA (mutual TLS, as an API server that authenticates clients by certificate).
    public static func serverConfiguration() throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(serverCertificatePEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(serverKeyPEM.utf8), format: .pem)))
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(certificateAuthorityPEM.utf8)))
        configuration.certificateVerification = .noHostnameVerification
        return configuration
    }
}
