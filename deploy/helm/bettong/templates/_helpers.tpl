{{/* Names and labels shared by the chart's objects. */}}
{{- define "bettong.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "bettong.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "bettong.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bettong.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "bettong.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "bettong.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* The Secret holding the admin token and the database URL: the user's, or the chart's own. */}}
{{- define "bettong.secretName" -}}
{{- default (include "bettong.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{/* True when servers have a shared database to be one platform on. */}}
{{- define "bettong.sharedState" -}}
{{- if or .Values.database.url .Values.existingSecret }}true{{ end -}}
{{- end -}}
