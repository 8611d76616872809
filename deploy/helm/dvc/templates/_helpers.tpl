{{/* Names and labels shared by every object of the chart. */}}

{{- define "dvc.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "dvc.labels" -}}
app.kubernetes.io/part-of: dvc-vouchers
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector of one service's pods: (dict "root" $ "name" "vouchers") */}}
{{- define "dvc.selector" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "dvc.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "dvc.secretName" -}}
{{- default (printf "%s-secrets" (include "dvc.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "dvc.caSecretName" -}}
{{- default (printf "%s-trusted-ca" (include "dvc.fullname" .)) .Values.trustedCa.existingSecret -}}
{{- end -}}

{{- define "dvc.directoryName" -}}
{{- default (printf "%s-treasury-directory" (include "dvc.fullname" .)) .Values.treasuryDirectory.existingConfigMap -}}
{{- end -}}

{{/* The enabled services, by name. */}}
{{- define "dvc.enabled" -}}
{{- $enabled := dict -}}
{{- range $name, $svc := .Values.services -}}
{{- if $svc.enabled -}}{{- $_ := set $enabled $name $svc -}}{{- end -}}
{{- end -}}
{{- toYaml $enabled -}}
{{- end -}}

{{/* Pod security shared by the services and the migration Job. */}}
{{- define "dvc.podSecurity" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "dvc.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end -}}
