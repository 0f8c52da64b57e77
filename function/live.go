package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aliyun/credentials-go/credentials"

	"github.com/vpncheck/vpncheck/checker/alibaba"
)

// chainCredential is the standard Alibaba Cloud credential chain. The keys
// in the environment come first, as in the chain, but read through getenv.
func chainCredential(getenv func(string) string) (credentials.Credential, error) {
	id, secret := getenv("ALIBABA_CLOUD_ACCESS_KEY_ID"), getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
	if id != "" && secret != "" {
		return alibaba.StaticCredential(id, secret, getenv("ALIBABA_CLOUD_SECURITY_TOKEN"))
	}
	cred, err := credentials.NewCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("load Alibaba Cloud credentials (set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or run aliyun configure): %w", err)
	}
	return cred, nil
}

// profileRegion is the region of the aliyun CLI's current profile
// (~/.aliyun/config.json, or ALIBABA_CLOUD_CONFIG_FILE; the profile named by
// ALIBABA_CLOUD_PROFILE wins over "current"), or "" when there is none.
func profileRegion(getenv func(string) string) string {
	if strings.EqualFold(getenv("ALIBABA_CLOUD_CLI_PROFILE_DISABLED"), "true") {
		return ""
	}
	path := getenv("ALIBABA_CLOUD_CONFIG_FILE")
	if path == "" {
		home := getenv("HOME")
		if home == "" {
			return ""
		}
		path = filepath.Join(home, ".aliyun", "config.json")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var conf struct {
		Current  string `json:"current"`
		Profiles []struct {
			Name     string `json:"name"`
			RegionID string `json:"region_id"`
		} `json:"profiles"`
	}
	if json.Unmarshal(b, &conf) != nil {
		return ""
	}
	name := getenv("ALIBABA_CLOUD_PROFILE")
	if name == "" {
		name = conf.Current
	}
	if name == "" {
		name = "default"
	}
	for _, p := range conf.Profiles {
		if p.Name == name {
			return strings.TrimSpace(p.RegionID)
		}
	}
	return ""
}
