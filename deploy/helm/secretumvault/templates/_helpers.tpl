{{/* The chart's resource names: <release>-secretumvault unless the release is named so already. */}}
{{- define "secretumvault.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The headless Service: stable DNS names of the pods. */}}
{{- define "secretumvault.internal" -}}
{{- printf "%s-internal" (include "secretumvault.fullname" .) -}}
{{- end -}}

{{- define "secretumvault.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end -}}

{{- define "secretumvault.labels" -}}
{{ include "secretumvault.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "secretumvault.scheme" -}}
{{- if .Values.tls.enabled }}https{{ else }}http{{ end -}}
{{- end -}}

{{- define "secretumvault.tlsSecret" -}}
{{- default (printf "%s-tls" (include "secretumvault.fullname" .)) .Values.tls.secretName -}}
{{- end -}}
