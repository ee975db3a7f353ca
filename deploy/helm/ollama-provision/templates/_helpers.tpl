{{/* Names: the chart name, or nameOverride, cut to the 63 characters a label allows. */}}
{{- define "ollama-provision.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's objects are named <release>-<chart> unless the release name already holds the chart name. */}}
{{- define "ollama-provision.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "ollama-provision.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ollama-provision.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ollama-provision.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "ollama-provision.labels" -}}
helm.sh/chart: {{ include "ollama-provision.chart" . }}
{{ include "ollama-provision.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "ollama-provision.configMapName" -}}
{{- printf "%s-manifest" (include "ollama-provision.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The manifest text the ConfigMap holds: manifestFile verbatim, else manifest as YAML. */}}
{{- define "ollama-provision.manifestText" -}}
{{- if .Values.manifestFile }}
{{- .Values.manifestFile }}
{{- else }}
{{- toYaml .Values.manifest }}
{{- end }}
{{- end }}

{{/* Where the pods find the manifest: the ConfigMap's mount. The lock sits beside it. */}}
{{- define "ollama-provision.manifestPath" -}}
/config/models.yaml
{{- end }}

{{- define "ollama-provision.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{- define "ollama-provision.host" -}}
{{- required "ollama.host is required: the URL of the Ollama server, e.g. http://ollama:11434" .Values.ollama.host }}
{{- end }}

{{/*
The arguments of `ollama-provision apply`, one list for the hook Job and the
apply CronJob. tests/integration/test_helm.py runs exactly this list (host and
manifest path swapped for local ones) against a real Ollama server.
*/}}
{{- define "ollama-provision.applyArgs" -}}
{{- $apply := .Values.apply }}
{{- if and $apply.locked (not .Values.lockFile) }}
{{- fail "apply.locked needs lockFile: give it with --set-file lockFile=models.lock.json" }}
{{- end }}
- apply
- --host
- {{ include "ollama-provision.host" . | quote }}
- --yes
- --parallel
- {{ $apply.parallel | toString | quote }}
- --stall-timeout
- {{ $apply.stallTimeout | toString | quote }}
{{- if eq (toString $apply.prune) "true" }}
- --prune
{{- else if eq (toString $apply.prune) "false" }}
- --no-prune
{{- end }}
{{- if $apply.checkUpdates }}
- --check-updates
{{- end }}
{{- if $apply.locked }}
- --locked
{{- end }}
{{- range $apply.extraArgs }}
- {{ . | toString | quote }}
{{- end }}
- {{ include "ollama-provision.manifestPath" . }}
{{- end }}

{{/* The arguments of `ollama-provision drift` for the drift CronJob. */}}
{{- define "ollama-provision.driftArgs" -}}
- drift
- --host
- {{ include "ollama-provision.host" . | quote }}
{{- range .Values.cronJob.drift.extraArgs }}
- {{ . | toString | quote }}
{{- end }}
- {{ include "ollama-provision.manifestPath" . }}
{{- end }}

{{/*
The pod template every workload shares. Called with a dict:
root (the chart's context), component (apply, drift) and args (a YAML list).
*/}}
{{- define "ollama-provision.podTemplate" -}}
{{- with .root }}
metadata:
  labels:
    {{- include "ollama-provision.labels" . | nindent 4 }}
    app.kubernetes.io/component: {{ $.component }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/manifest: {{ include "ollama-provision.manifestText" . | sha256sum }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  {{- with .Values.serviceAccountName }}
  serviceAccountName: {{ . }}
  {{- end }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: ollama-provision
      image: {{ include "ollama-provision.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      command:
        - ollama-provision
      args:
        {{- $.args | trim | nindent 8 }}
      env:
        # The hash cache for custom models' weights; the root filesystem is read-only.
        - name: OLLAMA_PROVISION_CACHE
          value: /cache
        {{- with .Values.env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with .Values.envFrom }}
      envFrom:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      {{- with .Values.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        - name: manifest
          mountPath: /config
          readOnly: true
        - name: cache
          mountPath: /cache
        - name: tmp
          mountPath: /tmp
        {{- with .Values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: manifest
      configMap:
        name: {{ include "ollama-provision.configMapName" . }}
    - name: cache
      emptyDir: {}
    - name: tmp
      emptyDir: {}
    {{- with .Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}

{{/* CronJob fields both CronJobs share. */}}
{{- define "ollama-provision.cronJobSettings" -}}
concurrencyPolicy: {{ .Values.cronJob.concurrencyPolicy }}
startingDeadlineSeconds: {{ .Values.cronJob.startingDeadlineSeconds }}
successfulJobsHistoryLimit: {{ .Values.cronJob.successfulJobsHistoryLimit }}
failedJobsHistoryLimit: {{ .Values.cronJob.failedJobsHistoryLimit }}
{{- with .Values.cronJob.timeZone }}
timeZone: {{ . | quote }}
{{- end }}
{{- end }}
