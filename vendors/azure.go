package vendors

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// azureDefaultAPIVersion is the first GA version that accepts
// stream_options.include_usage, which the router relies on for usage
// accounting of streams; older versions answer 400.
const azureDefaultAPIVersion = "2024-10-21"

// azureV1Path is the path of Azure OpenAI's v1 API, which is OpenAI-shaped:
// no api-version query and the deployment name in the body's model field.
const azureV1Path = "/openai/v1"

// azure is Azure OpenAI (and Azure AI Foundry's OpenAI endpoint). Every
// resource has its own host, so there is no default base URL. It comes in two
// layouts, chosen by azureBackend:
//
//   - classic: {base}/openai/deployments/{deployment}/{endpoint}?api-version=V
//   - v1:      {base}/openai/v1/{endpoint}
func init() {
	register(&kind{name: "azure", settings: settingAPIVersion, backend: azureBackend})
}

// azureOptions are Azure's as an OpenAI-compatible kind.
var azureOptions = compatOptions{
	endpoints: endpointsOf(ChatCompletions, Completions, Embeddings),
	// The v1 API lists base models, not the resource's deployments.
	probe:    probeList,
	auth:     authAPIKey,
	sanitize: sanitizeOpenAI,
}

// azureBackend picks the layout. The v1 API is used when the base URL
// already ends in /openai/v1 (how Azure's portal shows it) or when api_version
// is "v1" (then /openai/v1 is appended to the base path). Anything else is the
// classic layout with api_version, or its default, in the query.
func azureBackend(v *Vendor, c Config) (backend, *ConfigError) {
	version := strings.TrimSpace(c.APIVersion)
	v1Base := strings.HasSuffix(strings.ToLower(v.basePath), azureV1Path)
	switch {
	case v1Base && (version == "" || version == "v1"):
		// Already v1 by URL.
	case version == "v1":
		v.appendBasePath(azureV1Path)
	case v1Base:
		// The v1 API takes no dated version; sending one to it (or silently
		// ignoring the operator's setting) would hide a config mistake.
		return nil, &ConfigError{"api_version", fmt.Sprintf(
			"%q conflicts with a base_url ending in %s (the v1 API takes no dated api-version; leave it empty or use \"v1\")",
			version, azureV1Path)}
	default:
		if version == "" {
			version = azureDefaultAPIVersion
		}
		b := newCompatBackend(v, azureOptions, "")
		b.query = url.Values{"api-version": {version}}.Encode()
		b.modelPath = func(e Endpoint, deployment string) (string, string, error) {
			rel, relRaw, err := azureDeploymentPath(e, deployment)
			if err != nil {
				return "", "", err
			}
			path, rawPath := v.below("/"+rel, "/"+relRaw)
			return path, rawPath, nil
		}
		return b, nil
	}
	b := newCompatBackend(v, azureOptions, "")
	// The v1 API has no legacy completions route, and serves Responses.
	b.endpoints = endpointsOf(ChatCompletions, Embeddings, Responses)
	return b, nil
}

// azureDeploymentPath returns the classic path below the base URL, decoded and
// escaped. The deployment is one path segment, so it is escaped with
// url.PathEscape ("/" becomes %2F) and "." / ".." are refused: a server or
// proxy normalising the path would otherwise send the request elsewhere.
func azureDeploymentPath(e Endpoint, deployment string) (path, rawPath string, err error) {
	if deployment == "." || deployment == ".." {
		return "", "", errors.New("invalid Azure deployment name " + deployment)
	}
	const prefix = "openai/deployments/"
	return prefix + deployment + "/" + e.String(),
		prefix + url.PathEscape(deployment) + "/" + e.String(), nil
}
