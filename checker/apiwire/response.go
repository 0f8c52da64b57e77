// Package apiwire is the wire format of the VPC OpenAPI's
// DescribeVpnConnections response (version 2016-04-28), as vpncheck reads
// it and as --save-inventory writes it (with its VpncheckSalt and
// VpncheckKeyFacts), and the tolerant decoder that streams it. It owns the
// raw types, their tolerant scalars and the errors of unreadable bodies.
// It must not import the policy input, the engine or any cloud SDK: what
// it decodes is handed on as raw types.
package apiwire

// Redacted is how a saved inventory spells a removed secret; read back, it
// counts as absent.
const Redacted = "vpncheck:redacted"

// The raw types mirror the DescribeVpnConnections response body (API version
// 2016-04-28) with tolerant scalar types. Only what vpncheck reads is decoded.

type Connection struct {
	VpnConnectionId    String
	Name               String
	VpnGatewayId       String
	CustomerGatewayId  String
	LocalSubnet        String
	RemoteSubnet       String
	Status             String
	EnableDpd          Bool
	EnableNatTraversal Bool
	EnableTunnelsBgp   Bool
	IkeConfig          *IkeConfig
	IpsecConfig        *IpsecConfig
	VcoHealthCheck     *HealthCheck
	VpnBgpConfig       *BgpConfig
	Tag                *struct {
		Tag []Tag
	}
	TunnelOptionsSpecification *struct {
		TunnelOptions []Tunnel
	}
}

type Tag struct {
	Key   String
	Value String
}

type IkeConfig struct {
	IkeVersion  String
	IkeMode     String
	IkeEncAlg   String
	IkeAuthAlg  String
	IkePfs      String
	IkeLifetime Int
	LocalId     String
	RemoteId    String
	Psk         String
	// VpncheckKeyFacts stands in for a key that --save-inventory redacted.
	VpncheckKeyFacts *KeyFacts
}

// KeyFacts are the facts about a key that --save-inventory keeps in
// place of the key (see Saver).
type KeyFacts struct {
	Length            Int
	Guesses           Float
	EstimatedLength   Int
	ExposedIn         []String
	Fingerprint       String // of the key, with the page's VpncheckSalt
	FoldedFingerprint String // of the lower-cased key, for the banned list

	// Salt is the page's VpncheckSalt, set once the page is read.
	Salt string `json:"-"`
}

type IpsecConfig struct {
	IpsecEncAlg   String
	IpsecAuthAlg  String
	IpsecPfs      String
	IpsecLifetime Int
}

type HealthCheck struct {
	Enable Bool
	Status String
	Dip    String
	Sip    String
}

type BgpConfig struct {
	Status     String // connection level
	BgpStatus  String // tunnel level
	LocalAsn   String
	PeerAsn    String
	TunnelCidr String
	AuthKey    String
}

type Tunnel struct {
	TunnelId           String
	Role               String
	Status             String
	EnableDpd          Bool
	EnableNatTraversal Bool
	TunnelIkeConfig    *IkeConfig
	TunnelIpsecConfig  *IpsecConfig
	TunnelBgpConfig    *BgpConfig
}

// Page is what a page (an inventory file or an API response) says
// about itself besides its connections.
type Page struct {
	RegionID    string // top-level "RegionId" when it is a non-empty string
	TotalCount  int64
	HasTotal    bool
	PageNumber  int64 // 0: not declared
	PageSize    int64 // 0: not declared
	RequestID   string
	Salt        string // VpncheckSalt of a page --save-inventory wrote
	Connections int    // entries read as connections
	Skipped     int    // entries that are not objects
}
