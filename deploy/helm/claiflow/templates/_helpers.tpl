{{- define "claiflow.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "claiflow.labels" -}}
app.kubernetes.io/part-of: claiflow
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "claiflow.serverName" -}}
{{ printf "%s-server" .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{- define "claiflow.agentName" -}}
{{ printf "%s-agent" .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{- define "claiflow.replicas" -}}
{{- if eq .Values.server.database "sqlite" }}1{{ else }}{{ .Values.server.replicas }}{{ end -}}
{{- end -}}

{{- define "claiflow.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "claiflow.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end -}}
