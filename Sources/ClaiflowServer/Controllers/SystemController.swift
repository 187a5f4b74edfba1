import ClaiflowCore
import ClaiflowStore
import Foundation
import Hummingbird
import Prometheus

/// `/healthz`, `/metrics` and `/openapi.yaml`.
struct SystemController {
    let useCases: OperatorUseCases
    let registry: PrometheusCollectorRegistry

    func registerPublic(on router: Router<AppRequestContext>) {
        router.get("healthz", use: health)
        router.get("openapi.yaml", use: openAPI)
    }

    func registerMetrics(on group: RouterGroup<AppRequestContext>) {
        group.get("metrics", use: metrics)
    }

    func registerMetrics(on router: Router<AppRequestContext>) {
        router.get("metrics", use: metrics)
    }

    @Sendable func health(_ request: Request, context: AppRequestContext) async throws -> Response {
        do {
            try await useCases.checkDatabase()
            return try JSONResponse.make(["status": "ok"], request: request)
        } catch {
            context.logger.warning("health check failed", metadata: ["error": .string("\(error)")])
            return try JSONResponse.make(["status": "database unavailable"], status: .serviceUnavailable, request: request)
        }
    }

    @Sendable func metrics(_ request: Request, context: AppRequestContext) async throws -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
    }

    @Sendable func openAPI(_ request: Request, context: AppRequestContext) async throws -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.bytes)))
    }
}

/// The OpenAPI document of the API, shipped as a resource of this module.
public enum OpenAPIDocument {
    /// The document's bytes.
    public static let bytes: [UInt8] = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
            let data = try? Data(contentsOf: url)
        else { return Array("openapi: 3.1.0\ninfo: {title: claiflow, version: unknown}\npaths: {}\n".utf8) }
        return Array(data)
    }()
}
