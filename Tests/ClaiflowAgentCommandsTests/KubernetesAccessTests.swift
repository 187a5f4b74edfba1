import ClaiflowAgentCommands
import ClaiflowCore
import ClaiflowFakeKubernetes
import Foundation
import Testing

/// A self-signed EC certificate and its key (CN=claiflow-test), for TLS material parsing.
let testCertificatePEM = """
    -----BEGIN CERTIFICATE-----
    MIIBiDCCAS2gAwIBAgIUReNmQVVemhu9Hs1qsUvmjN0/k5kwCgYIKoZIzj0EAwIw
    GDEWMBQGA1UEAwwNY2xhaWZsb3ctdGVzdDAgFw0yNjExMjUxNjQ3MjdaGA8yMTI2
    MTEwMTE2NDcyN1owGDEWMBQGA1UEAwwNY2xhaWZsb3ctdGVzdDBZMBMGByqGSM49
    AgEGCCqGSM49AwEHA0IABIzoroXvokaAcuQGGbWdyXMel3wpY3C6f1t6INSFZl1v
    ELFx6MMhhq59UNC7x5AjHFMpdpq5pzT/55tBJEt26m2jUzBRMB0GA1UdDgQWBBQM
    4lXWvNUrgRWB91hvqoiN1EbK6DAfBgNVHSMEGDAWgBQM4lXWvNUrgRWB91hvqoiN
    1EbK6DAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQDwJB525Gle
    +Em3jFrNYWRs0wDjhGYfcnWfCiTEjD/edwIhANe6wNO0jzR5s+6Gh0rz8qJY9KLo
    gyUspp5lRbYw9T7I
    -----END CERTIFICATE-----

    """
let testKeyPEM = """
    -----BEGIN PRIVATE KEY-----
    MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgBdEMyUMKo1imWyNi
    PqLHOQD9x1bWxrChock4Zm+qIN+hRANCAASM6K6F76JGgHLkBhm1nclzHpd8KWNw
    un9beiDUhWZdbxCxcejDIYaufVDQu8eQIxxTKXaauac0/+ebQSRLdupt
    -----END PRIVATE KEY-----

    """

@Suite("Kubernetes access configuration")
struct KubernetesAccessTests {
    private func serviceAccount(namespace: String = "claiflow", token: String = "sa-token") throws -> URL {
        let directory = try temporaryDirectory()
        try token.write(to: directory.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        try testCertificatePEM.write(to: directory.appendingPathComponent("ca.crt"), atomically: true, encoding: .utf8)
        try namespace.write(to: directory.appendingPathComponent("namespace"), atomically: true, encoding: .utf8)
        return directory
    }

    @Test("in-cluster: service host and port, token file, CA bundle, namespace")
    func inCluster() throws {
        let directory = try serviceAccount()
        let access = try KubernetesAccess.inCluster(
            environment: ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"],
            serviceAccountDirectory: directory.path)
        #expect(access.baseURL == "https://10.96.0.1:443")
        #expect(access.authentication == .bearerTokenFile(directory.appendingPathComponent("token").path))
        #expect(access.certificateAuthorityPEM == testCertificatePEM)
        #expect(access.namespace == "claiflow")
        #expect(access.isInCluster)
        // The CA bundle is usable TLS material.
        _ = try makeCatalog(kubernetes: access)

        let v6 = try KubernetesAccess.inCluster(
            environment: ["KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "6443"],
            serviceAccountDirectory: directory.path)
        #expect(v6.baseURL == "https://[fd00::1]:6443")

        #expect {
            try KubernetesAccess.inCluster(environment: [:], serviceAccountDirectory: directory.path)
        } throws: { error in
            String(describing: error)
                == "not running in a Kubernetes cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set"
        }
    }

    @Test("a token file is read before each request, so a rotated token is used")
    func tokenRotation() async throws {
        let directory = try serviceAccount(token: "test-token")
        let tokenFile = directory.appendingPathComponent("token")
        try await FakeKubernetesAPIServer(token: "test-token").run { port in
            let access = KubernetesAccess(baseURL: "http://127.0.0.1:\(port)", authentication: .bearerTokenFile(tokenFile.path))
            let catalog = try makeCatalog(kubernetes: access)
            let list = try await call(catalog, "kubernetes.namespaces.list.v1", nil)
            #expect(list.field("kind") == .string("NamespaceList"))
            try "rotated-token\n".write(to: tokenFile, atomically: true, encoding: .utf8)
            #expect(
                await failure(catalog, "kubernetes.namespaces.list.v1", nil)
                    == "kubernetes API: Unauthorized (Unauthorized, code 401)")
        }
    }

    @Test("kubeconfig: current context with token and CA data; another with client certificate files")
    func kubeconfig() throws {
        let directory = try temporaryDirectory()
        try testCertificatePEM.write(to: directory.appendingPathComponent("client.crt"), atomically: true, encoding: .utf8)
        try testKeyPEM.write(to: directory.appendingPathComponent("client.key"), atomically: true, encoding: .utf8)
        let caData = Data(testCertificatePEM.utf8).base64EncodedString()
        let file = directory.appendingPathComponent("config")
        try """
        apiVersion: v1
        kind: Config
        current-context: dev
        clusters:
        - name: dev-cluster
          cluster:
            server: https://dev.example.com:6443
            certificate-authority-data: \(caData)
        - name: lab-cluster
          cluster:
            server: https://lab.example.com
            insecure-skip-tls-verify: true
        contexts:
        - name: dev
          context:
            cluster: dev-cluster
            user: dev-user
            namespace: team-a
        - name: lab
          context:
            cluster: lab-cluster
            user: lab-user
        - name: cloud
          context:
            cluster: lab-cluster
            user: cloud-user
        users:
        - name: dev-user
          user:
            token: dev-token
        - name: lab-user
          user:
            client-certificate: client.crt
            client-key: client.key
        - name: cloud-user
          user:
            exec:
              apiVersion: client.authentication.k8s.io/v1beta1
              command: aws
        preferences: {}
        """.write(to: file, atomically: true, encoding: .utf8)

        let dev = try KubernetesAccess.kubeconfig(path: file.path)
        #expect(dev.baseURL == "https://dev.example.com:6443")
        #expect(dev.authentication == .bearerToken("dev-token"))
        #expect(dev.certificateAuthorityPEM == testCertificatePEM)
        #expect(dev.namespace == "team-a")
        #expect(!dev.insecureSkipTLSVerify)
        #expect(!dev.isInCluster)
        _ = try makeCatalog(kubernetes: dev)

        let lab = try KubernetesAccess.kubeconfig(path: file.path, context: "lab")
        #expect(lab.baseURL == "https://lab.example.com")
        #expect(lab.authentication == .clientCertificate(certificatePEM: testCertificatePEM, privateKeyPEM: testKeyPEM))
        #expect(lab.insecureSkipTLSVerify)
        #expect(lab.namespace == "default")
        _ = try makeCatalog(kubernetes: lab)

        #expect {
            try KubernetesAccess.kubeconfig(path: file.path, context: "cloud")
        } throws: { error in
            String(describing: error).contains("uses an exec or auth-provider plugin, which is not supported")
        }
        #expect {
            try KubernetesAccess.kubeconfig(path: file.path, context: "nope")
        } throws: { error in
            String(describing: error) == "kubeconfig \(file.path) has no context \"nope\""
        }
        #expect {
            try KubernetesAccess.kubeconfig(path: directory.appendingPathComponent("missing").path)
        } throws: { error in
            String(describing: error).hasPrefix("cannot read kubeconfig ")
        }
    }

    @Test("unusable TLS material fails when the catalog is built")
    func badMaterial() throws {
        let access = KubernetesAccess(
            baseURL: "https://k8s.example.com", authentication: .none, certificateAuthorityPEM: "not a certificate")
        #expect {
            try makeCatalog(kubernetes: access)
        } throws: { error in
            String(describing: error).hasPrefix("the Kubernetes CA bundle is not valid PEM")
        }
        let badURL = KubernetesAccess(baseURL: "k8s.example.com", authentication: .none)
        #expect(throws: KubernetesConfigurationError.self) { try makeCatalog(kubernetes: badURL) }
    }
}
