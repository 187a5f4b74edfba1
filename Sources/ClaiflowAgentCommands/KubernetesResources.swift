/// One Kubernetes resource the built-in commands can reach.
public struct KubernetesResource: Sendable, Hashable {
    /// The plural resource name used in API paths and command names, such as `deployments`.
    public var name: String
    /// The API group, empty for the core group.
    public var group: String
    /// The API version, such as `v1`.
    public var version: String
    /// Whether objects live in a namespace.
    public var isNamespaced: Bool

    /// Creates a resource description.
    public init(name: String, group: String, version: String, isNamespaced: Bool) {
        self.name = name
        self.group = group
        self.version = version
        self.isNamespaced = isNamespaced
    }

    /// `v1` for the core group, else `<group>/<version>`, as in command names.
    public var groupVersion: String { group.isEmpty ? version : "\(group)/\(version)" }

    /// `/api/v1` for the core group, else `/apis/<group>/<version>`.
    public var apiPrefix: String { group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)" }

    /// The command name for a verb: `kubernetes.<resource>.<verb>.<groupVersion>`.
    public func commandName(_ verb: String) -> String { "kubernetes.\(name).\(verb).\(groupVersion)" }

    /// The collection path, in a namespace or (nil) across all namespaces / cluster-scoped.
    func collectionPath(namespace: String?) -> String {
        if isNamespaced, let namespace {
            return "\(apiPrefix)/namespaces/\(KubernetesClient.escapeSegment(namespace))/\(name)"
        }
        return "\(apiPrefix)/\(name)"
    }

    /// The path of one object.
    func objectPath(name objectName: String, namespace: String?) -> String {
        collectionPath(namespace: namespace) + "/" + KubernetesClient.escapeSegment(objectName)
    }

    /// The resources of the original agent (§6.5 of the protocol reference), each with get, list,
    /// patch and delete commands. Leases use `coordination.k8s.io/v1` for every verb (the original
    /// deleted through the removed v1beta1 API).
    public static let all: [KubernetesResource] = {
        func core(_ name: String, namespaced: Bool = true) -> KubernetesResource {
            KubernetesResource(name: name, group: "", version: "v1", isNamespaced: namespaced)
        }
        func api(_ group: String, _ version: String, _ name: String, namespaced: Bool = true) -> KubernetesResource {
            KubernetesResource(name: name, group: group, version: version, isNamespaced: namespaced)
        }
        return [
            core("configmaps"), core("endpoints"), core("events"), core("limitranges"),
            core("namespaces", namespaced: false), core("nodes", namespaced: false),
            core("persistentvolumeclaims"), core("persistentvolumes", namespaced: false), core("pods"),
            core("podtemplates"), core("replicationcontrollers"), core("resourcequotas"), core("secrets"),
            core("serviceaccounts"), core("services"),
            api("apps", "v1", "controllerrevisions"), api("apps", "v1", "daemonsets"), api("apps", "v1", "deployments"),
            api("apps", "v1", "replicasets"), api("apps", "v1", "statefulsets"),
            api("networking.k8s.io", "v1", "ingressclasses", namespaced: false),
            api("networking.k8s.io", "v1", "ingresses"), api("networking.k8s.io", "v1", "networkpolicies"),
            api("storage.k8s.io", "v1", "csidrivers", namespaced: false),
            api("storage.k8s.io", "v1", "csinodes", namespaced: false),
            api("storage.k8s.io", "v1", "csistoragecapacities"),
            api("storage.k8s.io", "v1", "storageclasses", namespaced: false),
            api("storage.k8s.io", "v1", "volumeattachments", namespaced: false),
            api("monitoring.coreos.com", "v1", "alertmanagers"), api("monitoring.coreos.com", "v1", "podmonitors"),
            api("monitoring.coreos.com", "v1", "probes"), api("monitoring.coreos.com", "v1", "prometheuses"),
            api("monitoring.coreos.com", "v1", "prometheusrules"), api("monitoring.coreos.com", "v1", "servicemonitors"),
            api("monitoring.coreos.com", "v1", "thanosrulers"),
            api("monitoring.coreos.com", "v1alpha1", "alertmanagerconfigs"),
            api("batch", "v1", "cronjobs"), api("batch", "v1", "jobs"),
            api("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", namespaced: false),
            api("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", namespaced: false),
            api("apiextensions.k8s.io", "v1", "customresourcedefinitions", namespaced: false),
            api("apiregistration.k8s.io", "v1", "apiservices", namespaced: false),
            api("autoscaling", "v2", "horizontalpodautoscalers"),
            api("certificates.k8s.io", "v1", "certificatesigningrequests", namespaced: false),
            api("coordination.k8s.io", "v1", "leases"),
            api("discovery.k8s.io", "v1", "endpointslices"),
            api("node.k8s.io", "v1", "runtimeclasses", namespaced: false),
            api("policy", "v1", "poddisruptionbudgets"),
            api("rbac.authorization.k8s.io", "v1", "clusterrolebindings", namespaced: false),
            api("rbac.authorization.k8s.io", "v1", "clusterroles", namespaced: false),
            api("rbac.authorization.k8s.io", "v1", "rolebindings"), api("rbac.authorization.k8s.io", "v1", "roles"),
            api("scheduling.k8s.io", "v1", "priorityclasses", namespaced: false),
        ]
    }()
}
