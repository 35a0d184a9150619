{{/* Names and labels shared by every object of the chart. */}}
{{- define "dapt.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "dapt.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "dapt.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "dapt.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "dapt.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dapt.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "dapt.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "dapt.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: dapt
{{- end }}

{{- define "dapt.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "dapt.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "dapt.secretName" -}}
{{- default (printf "%s-credentials" (include "dapt.fullname" .)) .Values.credentials.existingSecret }}
{{- end }}

{{/* Deployment name of one worker entry: (dict "root" $ "name" $name) */}}
{{- define "dapt.workerName" -}}
{{- printf "%s-worker-%s" (include "dapt.fullname" .root) .name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Path of a secret key inside worker pods. */}}
{{- define "dapt.secretPath" -}}
{{- printf "%s/%s" (trimSuffix "/" .root.Values.credentials.mountPath) .key }}
{{- end }}

{{/*
Checks that no JSON schema can express: failing here names the value to fix instead of producing manifests
that a cluster accepts but that cannot work.
*/}}
{{- define "dapt.validate" -}}
{{- $workflowWorkers := 0 }}
{{- range $name, $w := .Values.workers }}
{{- if $w.enabled }}
{{- if $w.workflows }}{{ $workflowWorkers = add1 $workflowWorkers }}{{ end }}
{{- if and (dig "autoscaling" "keda" "enabled" false $w) (dig "autoscaling" "hpa" "enabled" false $w) }}
{{- fail (printf "workers.%s.autoscaling: keda and hpa are both enabled; KEDA manages its own HPA, enable only one" $name) }}
{{- end }}
{{- if not (hasKey $.Values.image $w.image) }}
{{- fail (printf "workers.%s.image: %q is not a key of .Values.image (expected cpu or gpu)" $name $w.image) }}
{{- end }}
{{- range $w.queues }}
{{- if hasPrefix "gpu" . }}{{ if eq (int $w.gpus) 0 }}
{{- fail (printf "workers.%s: queue %q is a GPU queue but gpus is 0 (set workers.%s.gpus)" $name . $name) }}
{{- end }}{{ end }}
{{- end }}
{{- end }}
{{- end }}
{{- if eq $workflowWorkers 0 }}
{{- fail "no enabled worker has workflows: true: pipeline workflows would never run (set workers.cpu.workflows: true)" }}
{{- end }}
{{- if and (not .Values.credentials.existingSecret) (or (not .Values.credentials.s3AccessKey) (not .Values.credentials.s3SecretKey)) }}
{{- fail "credentials: set credentials.existingSecret, or credentials.s3AccessKey and credentials.s3SecretKey" }}
{{- end }}
{{- if and .Values.temporal.tls.enabled .Values.temporal.tls.clientCert (not .Values.credentials.existingSecret) (or (not .Values.credentials.temporalCert) (not .Values.credentials.temporalKey)) }}
{{- fail "temporal.tls.clientCert is true: set credentials.existingSecret, or credentials.temporalCert and credentials.temporalKey (PEM)" }}
{{- end }}
{{- end }}
