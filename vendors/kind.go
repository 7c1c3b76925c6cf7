package vendors

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// kind is what every vendor of one kind has in common. Each kind lives in
// its own file, which registers it in init: its name, default base URL,
// the settings it takes, and how to build a vendor's backend.
type kind struct {
	name           string
	defaultBaseURL string // "" when every deployment has its own URL (azure, openai_compatible)
	keyOptional    bool   // api_key may be empty (self-hosted servers; kinds with credentials of their own)
	// settings are the optional settings the kind uses besides base_url,
	// api_key and headers, which every kind takes. A vendor that sets any
	// other one is a configuration error naming it (checkSettings).
	settings setting
	// noAPIKey marks kinds that authenticate another way and refuse an
	// api_key (vertex: service accounts).
	noAPIKey bool
	// backend builds a vendor's backend from its config, after the base URL,
	// key and headers are validated; it may adjust v (base URL, endpoints).
	backend func(v *Vendor, c Config) (backend, *ConfigError)
}

// kinds maps kind names to kinds; each kind's file registers itself.
var kinds = map[string]*kind{}

// register adds k to the known kinds; it is called from init functions.
func register(k *kind) {
	if _, dup := kinds[k.name]; dup {
		panic("vendors: kind registered twice: " + k.name)
	}
	kinds[k.name] = k
}

// Kinds lists the known kind names, sorted.
func Kinds() []string {
	names := make([]string, 0, len(kinds))
	for name := range kinds {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// IsKind reports whether name is a known kind. Names are case-sensitive, like
// every other config keyword.
func IsKind(name string) bool {
	_, ok := kinds[name]
	return ok
}

// setting is one optional vendor setting, or a set of them (a bit mask).
type setting uint16

// The optional settings. base_url, api_key and headers are not among them:
// every kind takes those (vertex refuses api_key through noAPIKey).
const (
	settingAPIVersion setting = 1 << iota
	settingRegion
	settingAccessKeys // access_key_id, secret_access_key, session_token
	settingProject
	settingCredentials
	settingMaxTokens
	settingAPI
)

// settingNames are the optional settings by their operator-facing names,
// in the order checkSettings reports them, each with whether a Config sets
// it.
var settingNames = []struct {
	s     setting
	field string
	isSet func(c *Config) bool
}{
	{settingAPIVersion, "api_version", func(c *Config) bool { return isSet(c.APIVersion) }},
	{settingRegion, "region", func(c *Config) bool { return isSet(c.Region) }},
	{settingAccessKeys, "access_key_id", func(c *Config) bool { return isSet(c.AccessKeyID) }},
	{settingAccessKeys, "secret_access_key", func(c *Config) bool { return isSet(c.SecretAccessKey) }},
	{settingAccessKeys, "session_token", func(c *Config) bool { return isSet(c.SessionToken) }},
	{settingProject, "project", func(c *Config) bool { return isSet(c.Project) }},
	{settingCredentials, "credentials_file", func(c *Config) bool { return len(c.CredentialsJSON) > 0 }},
	{settingMaxTokens, "max_tokens", func(c *Config) bool { return c.DefaultMaxTokens != 0 }},
	{settingAPI, "api", func(c *Config) bool { return isSet(c.API) }},
}

// isSet reports whether a string setting has a value.
func isSet(value string) bool { return strings.TrimSpace(value) != "" }

// checkSettings refuses a setting k does not use: silently ignoring it would
// hide a mistake (a region on an openai vendor, an api on mistral). The
// message names the kinds that do use it.
func (k *kind) checkSettings(c Config) *ConfigError {
	if k.noAPIKey && isSet(c.APIKey) {
		return &ConfigError{"api_key", fmt.Sprintf("is not used by kind %q, which authenticates another way", k.name)}
	}
	for _, s := range settingNames {
		if !s.isSet(&c) || k.settings&s.s != 0 {
			continue
		}
		return &ConfigError{s.field, fmt.Sprintf("is not used by kind %q (kinds that use it: %s)",
			k.name, strings.Join(kindsWith(s.s), ", "))}
	}
	return nil
}

// kindsWith lists the kinds that use setting s, sorted.
func kindsWith(s setting) []string {
	var names []string
	for name, k := range kinds {
		if k.settings&s != 0 {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}
