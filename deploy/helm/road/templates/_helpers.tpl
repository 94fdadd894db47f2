{{/* vim: set filetype=mustache: */}}
{{/*
Names and labels, following the prometheus-community charts' conventions.
*/}}

{{/*
Expand the name of the chart.
*/}}
{{- define "road.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Create a default fully qualified app name.
Truncated at 63 characters because some Kubernetes name fields are limited to that (DNS-1123).
If the release name contains the chart name it is used as the full name.
*/}}
{{- define "road.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Create chart name and version as used by the chart label.
*/}}
{{- define "road.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Allow the release namespace to be overridden.
*/}}
{{- define "road.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride -}}
{{- end -}}

{{/*
Selector labels. Call with (dict "ctx" $ "component" "server").
The component label keeps the Service, PDB and HPA away from batch and test pods.
*/}}
{{- define "road.selectorLabels" -}}
app.kubernetes.io/name: {{ include "road.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
Common labels. Call with (dict "ctx" $ "component" "server").
*/}}
{{- define "road.labels" -}}
helm.sh/chart: {{ include "road.chart" .ctx }}
{{ include "road.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: {{ include "road.name" .ctx }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Release-wide selector (every component): used by the NetworkPolicy to admit test and batch pods.
*/}}
{{- define "road.releaseSelectorLabels" -}}
app.kubernetes.io/name: {{ include "road.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
The name of the service account to use.
*/}}
{{- define "road.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "road.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
Image reference for an image block. Call with (dict "image" .Values.image "defaultTag" "0.1.0").
A "latest" tag fails the render: deployments must be reproducible.
*/}}
{{- define "road.imageRef" -}}
{{- $tag := default .defaultTag .image.tag | toString -}}
{{- if eq (lower $tag) "latest" -}}
{{- fail "image tags must be pinned: \"latest\" is not allowed (set image.tag / gpu.image.tag to a version, or a digest)" -}}
{{- end -}}
{{- $repository := .image.repository -}}
{{- if .image.registry -}}
{{- $repository = printf "%s/%s" .image.registry .image.repository -}}
{{- end -}}
{{- if .image.digest -}}
{{- printf "%s:%s@%s" $repository $tag .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository $tag -}}
{{- end -}}
{{- end -}}

{{/*
The image every road container runs: the GPU image when gpu.enabled, the CPU image otherwise.
*/}}
{{- define "road.image" -}}
{{- if .Values.gpu.enabled -}}
{{- $gpuImage := dict "registry" (default .Values.image.registry .Values.gpu.image.registry) "repository" .Values.gpu.image.repository "tag" .Values.gpu.image.tag "digest" .Values.gpu.image.digest -}}
{{- include "road.imageRef" (dict "image" $gpuImage "defaultTag" (printf "%s-gpu" .Chart.AppVersion)) -}}
{{- else -}}
{{- include "road.imageRef" (dict "image" .Values.image "defaultTag" .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/*
Model repository directory as seen by the containers (model.repository.enabled).
*/}}
{{- define "road.repositoryPath" -}}
{{- $source := .Values.model.source -}}
{{- if eq $source "pvc" -}}
{{- include "road.sourcePath" . -}}
{{- else if eq $source "url" -}}
{{- .Values.model.url.mountPath -}}
{{- else -}}
{{- fail (printf "model.repository.enabled needs model.source pvc or url (got %q)" $source) -}}
{{- end -}}
{{- end -}}

{{/*
Bundle directory the batch job scores with: the bundle, or in a repository the default model's
pinned version (a version unpinned is only known to the server, at run time).
*/}}
{{- define "road.bundlePath" -}}
{{- if .Values.model.repository.enabled -}}
{{- $model := default "road" .Values.model.repository.defaultModel -}}
{{- if not (hasKey .Values.model.repository.versions $model) -}}
{{- fail (printf "the batch job needs model.repository.versions to pin the default model %q" $model) -}}
{{- end -}}
{{- $version := get .Values.model.repository.versions $model -}}
{{- printf "%s/%s/%d" (trimSuffix "/" (include "road.repositoryPath" .)) $model (int $version) -}}
{{- else -}}
{{- include "road.sourcePath" . -}}
{{- end -}}
{{- end -}}

{{/*
Directory of model.source as seen by the containers: the bundle, or the repository root.
*/}}
{{- define "road.sourcePath" -}}
{{- $source := .Values.model.source -}}
{{- if eq $source "image" -}}
{{- .Values.model.image.path -}}
{{- else if eq $source "pvc" -}}
{{- if .Values.model.pvc.subPath -}}
{{- printf "%s/%s" (trimSuffix "/" .Values.model.pvc.mountPath) (trimAll "/" .Values.model.pvc.subPath) -}}
{{- else -}}
{{- .Values.model.pvc.mountPath -}}
{{- end -}}
{{- else if eq $source "url" -}}
{{- if .Values.model.url.bundleDir -}}
{{- printf "%s/%s" (trimSuffix "/" .Values.model.url.mountPath) (trimAll "/" .Values.model.url.bundleDir) -}}
{{- else -}}
{{- .Values.model.url.mountPath -}}
{{- end -}}
{{- else -}}
{{- fail (printf "model.source must be image, pvc or url (got %q)" $source) -}}
{{- end -}}
{{- end -}}

{{/*
Name of the API-key Secret.
*/}}
{{- define "road.authSecretName" -}}
{{- default (printf "%s-auth" (include "road.fullname" .)) .Values.auth.existingSecret -}}
{{- end -}}

{{/*
terminationGracePeriodSeconds: the preStop sleep, then the server's drain, plus slack.
*/}}
{{- define "road.terminationGracePeriodSeconds" -}}
{{- add (int .Values.lifecycle.preStopSleepSeconds) (int (ceil .Values.server.gracefulTimeoutSeconds)) (int .Values.lifecycle.terminationGraceExtraSeconds) -}}
{{- end -}}

{{/*
Pod volumes shared by server and batch pods: /tmp, the model source, the API keys.
*/}}
{{- define "road.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- if eq .Values.model.source "pvc" }}
- name: model
  persistentVolumeClaim:
    claimName: {{ required "model.pvc.claimName is required when model.source=pvc" .Values.model.pvc.claimName }}
    readOnly: true
{{- else if eq .Values.model.source "url" }}
- name: model
  emptyDir:
    sizeLimit: {{ .Values.model.url.sizeLimit }}
{{- end }}
{{- end -}}

{{/*
Volume mounts of the model for the road containers.
*/}}
{{- define "road.modelVolumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if eq .Values.model.source "pvc" }}
- name: model
  mountPath: {{ .Values.model.pvc.mountPath }}
  readOnly: true
{{- else if eq .Values.model.source "url" }}
- name: model
  mountPath: {{ .Values.model.url.mountPath }}
  readOnly: true
{{- end }}
{{- end -}}

{{/*
Init container that downloads the bundle archive, checks its sha256 and extracts it (model.source=url).
It runs the road image's own Python: no curl or sha256sum needed.
*/}}
{{- define "road.modelInitContainers" -}}
{{- if and (eq .Values.model.source "url") .Values.model.repository.enabled }}
{{- if not .Values.model.repository.models -}}
{{- fail "model.repository.models is required when model.source=url and model.repository.enabled" -}}
{{- end -}}
{{- range $entry := .Values.model.repository.models }}
{{- include "road.fetchContainer" (dict "ctx" $ "name" (printf "fetch-%s-%d" ($entry.name | lower | replace "_" "-" | replace "." "-") (int $entry.version)) "url" $entry.url "sha256" $entry.sha256 "dest" (printf "%s/%s/%d" (trimSuffix "/" $.Values.model.url.mountPath) $entry.name (int $entry.version))) }}
{{- end }}
{{- else if eq .Values.model.source "url" }}
{{- include "road.fetchContainer" (dict "ctx" . "name" "fetch-bundle" "url" (required "model.url.url is required when model.source=url" .Values.model.url.url) "sha256" (required "model.url.sha256 is required when model.source=url" .Values.model.url.sha256) "dest" .Values.model.url.mountPath) }}
{{- end }}
{{- end -}}

{{/*
One fetch init container. Call with (dict "ctx" $ "name" N "url" U "sha256" S "dest" D).
*/}}
{{- define "road.fetchContainer" }}
{{- $ := .ctx }}
- name: {{ .name | trunc 63 | trimSuffix "-" }}
  image: {{ include "road.image" $ }}
  imagePullPolicy: {{ $.Values.image.pullPolicy }}
  command:
    - python
    - -c
    - |
      {{- $.Files.Get "files/fetch_bundle.py" | nindent 6 }}
  env:
    - name: BUNDLE_URL
      value: {{ .url | quote }}
    - name: BUNDLE_SHA256
      value: {{ .sha256 | quote }}
    - name: BUNDLE_DEST
      value: {{ .dest | quote }}
    - name: BUNDLE_TIMEOUT_S
      value: {{ $.Values.model.url.timeoutSeconds | quote }}
  securityContext:
    {{- toYaml $.Values.containerSecurityContext | nindent 4 }}
  resources:
    {{- toYaml $.Values.model.url.resources | nindent 4 }}
  volumeMounts:
    - name: tmp
      mountPath: /tmp
    - name: model
      mountPath: {{ $.Values.model.url.mountPath }}
{{- end }}

{{/*
Scheduling fields shared by server and batch pods, GPU pool included.
*/}}
{{- define "road.scheduling" -}}
{{- $nodeSelector := deepCopy .Values.nodeSelector -}}
{{- $tolerations := .Values.tolerations -}}
{{- if .Values.gpu.enabled -}}
{{- $nodeSelector = merge $nodeSelector .Values.gpu.nodeSelector -}}
{{- $tolerations = concat .Values.tolerations .Values.gpu.tolerations -}}
{{- end -}}
{{- with $nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if and .Values.gpu.enabled .Values.gpu.runtimeClassName }}
runtimeClassName: {{ .Values.gpu.runtimeClassName }}
{{- end }}
{{- end -}}

{{/*
Container resources with the GPU request added when gpu.enabled. Call with (dict "ctx" $ "resources" ...).
*/}}
{{- define "road.resources" -}}
{{- $resources := deepCopy (default dict .resources) -}}
{{- if .ctx.Values.gpu.enabled -}}
{{- $limits := deepCopy (default dict (get $resources "limits")) -}}
{{- $_ := set $limits .ctx.Values.gpu.resourceName (int .ctx.Values.gpu.count) -}}
{{- $_ := set $resources "limits" $limits -}}
{{- end -}}
{{- toYaml $resources -}}
{{- end -}}

{{/*
Environment of the road containers beyond the ConfigMap.
*/}}
{{- define "road.env" -}}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
The batch-scoring pod spec shared by the Job and the CronJob.
*/}}
{{- define "road.batchPodSpec" -}}
restartPolicy: Never
serviceAccountName: {{ include "road.serviceAccountName" . }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountServiceAccountToken }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with (include "road.scheduling" .) }}
{{ . | trim }}
{{- end }}
{{- with (include "road.modelInitContainers" . | trim) }}
initContainers:
  {{- . | nindent 2 }}
{{- end }}
containers:
  - name: score
    image: {{ include "road.image" . }}
    imagePullPolicy: {{ .Values.image.pullPolicy }}
    # --env-prefix ROAD_: the ConfigMap's server settings, so the job refuses and batches rows
    # as the server does (`road score` reads no environment unless told to).
    command:
      - road
      - score
      - --env-prefix
      - ROAD_
      - --bundle
      - {{ include "road.bundlePath" . | quote }}
      - --input
      - {{ .Values.batch.input | quote }}
      - --output
      - {{ .Values.batch.output | quote }}
      {{- range .Values.batch.extraArgs }}
      - {{ . | quote }}
      {{- end }}
    envFrom:
      - configMapRef:
          name: {{ include "road.fullname" . }}
    {{- with (include "road.env" .) }}
    env:
      {{- . | nindent 6 }}
    {{- end }}
    securityContext:
      {{- toYaml .Values.containerSecurityContext | nindent 6 }}
    resources:
      {{- include "road.resources" (dict "ctx" . "resources" .Values.batch.resources) | nindent 6 }}
    volumeMounts:
      {{- include "road.modelVolumeMounts" . | nindent 6 }}
      - name: data
        mountPath: {{ .Values.batch.data.mountPath }}
volumes:
  {{- include "road.volumes" . | nindent 2 }}
  - name: data
    persistentVolumeClaim:
      claimName: {{ required "batch.data.existingClaim is required for the batch Job/CronJob" .Values.batch.data.existingClaim }}
{{- end -}}
