{{/* The name of every object of the release. */}}
{{- define "rhev-operator.fullname" -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select the operator's pods (never change on upgrade). */}}
{{- define "rhev-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The standard labels of every object. */}}
{{- define "rhev-operator.labels" -}}
{{ include "rhev-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: rhev-operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* The namespaces watched: [] for cluster-wide, else watchNamespaces plus the release's. */}}
{{- define "rhev-operator.namespaces" -}}
{{- if .Values.watchNamespaces -}}
{{- .Values.watchNamespaces | concat (list .Release.Namespace) | uniq | sortAlpha | toJson -}}
{{- else -}}
[]
{{- end -}}
{{- end -}}

{{/* The image reference: by digest when one is given. */}}
{{- define "rhev-operator.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* The rules on the operator's own kinds, in the scope of a ClusterRole or a Role. */}}
{{- define "rhev-operator.namespacedRules" -}}
# Its own kinds, and kopf's finalizer and annotations on them.
- apiGroups: [rhev.io]
  resources: [rhevdatacenters, rhevclusters, logicalnetworks, storagedomains, hypervisors,
              virtualmachines, vmtemplates]
  verbs: [get, list, watch, patch, update]
# Their status.
- apiGroups: [rhev.io]
  resources: [rhevdatacenters/status, rhevclusters/status, logicalnetworks/status,
              storagedomains/status, hypervisors/status, virtualmachines/status,
              vmtemplates/status]
  verbs: [get, patch, update]
# Connection, root-password and BMC credential Secrets: read by name only (`get`; never
# listed or watched). RBAC cannot narrow `get` by label, only by resourceNames.
- apiGroups: [""]
  resources: [secrets]
  verbs: [get]
# Events on the objects it acts on.
- apiGroups: ["", events.k8s.io]
  resources: [events]
  verbs: [create]
{{- end -}}
