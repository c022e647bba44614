package awssim

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

type ipRange struct {
	CidrIP      string `xml:"cidrIp"`
	Description string `xml:"description,omitempty"`
}

type groupPair struct {
	GroupID     string `xml:"groupId"`
	Description string `xml:"description,omitempty"`
}

type ipPermission struct {
	IPProtocol string      `xml:"ipProtocol"`
	FromPort   *int        `xml:"fromPort,omitempty"`
	ToPort     *int        `xml:"toPort,omitempty"`
	IPRanges   []ipRange   `xml:"ipRanges>item"`
	Groups     []groupPair `xml:"groups>item"`
}

type securityGroup struct {
	GroupID     string         `xml:"groupId"`
	GroupName   string         `xml:"groupName"`
	Description string         `xml:"groupDescription"`
	VpcID       string         `xml:"vpcId"`
	OwnerID     string         `xml:"ownerId"`
	Ingress     []ipPermission `xml:"ipPermissions>item"`
	Egress      []ipPermission `xml:"ipPermissionsEgress>item"`
	Tags        []Tag          `xml:"tagSet>item"`
	created     time.Time
	// rules and egressRules are what Ingress and Egress show merged.
	rules       []sgRule
	egressRules []sgRule
}

// newSecurityGroup makes a group that, as in EC2, allows all outbound
// traffic.
func newSecurityGroup(id, name, description, vpcID string, tags []Tag, created time.Time) *securityGroup {
	g := &securityGroup{GroupID: id, GroupName: name, Description: description, VpcID: vpcID, OwnerID: accountID, Tags: tags, created: created,
		egressRules: []sgRule{{protocol: "-1", cidr: "0.0.0.0/0"}}}
	g.Egress = mergeRules(g.egressRules)
	return g
}

// direction is the rules of one direction and where they show.
func (g *securityGroup) direction(egress bool) (rules *[]sgRule, shown *[]ipPermission) {
	if egress {
		return &g.egressRules, &g.Egress
	}
	return &g.rules, &g.Ingress
}

type instanceState struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

type groupRef struct {
	GroupID   string `xml:"groupId"`
	GroupName string `xml:"groupName"`
}

type iamProfile struct {
	Arn string `xml:"arn"`
	ID  string `xml:"id"`
}

type ebsDevice struct {
	DeviceName string `xml:"deviceName"`
	Ebs        struct {
		VolumeID            string `xml:"volumeId"`
		Status              string `xml:"status"`
		AttachTime          string `xml:"attachTime"`
		DeleteOnTermination bool   `xml:"deleteOnTermination"`
	} `xml:"ebs"`
}

type volumeAttachment struct {
	VolumeID            string `xml:"volumeId"`
	InstanceID          string `xml:"instanceId"`
	Device              string `xml:"device"`
	Status              string `xml:"status"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
}

// volume is an EBS volume; RunInstances makes one per block device.
type volume struct {
	VolumeID         string             `xml:"volumeId"`
	Size             int                `xml:"size"`
	SnapshotID       string             `xml:"snapshotId"`
	AvailabilityZone string             `xml:"availabilityZone"`
	Status           string             `xml:"status"`
	CreateTime       string             `xml:"createTime"`
	VolumeType       string             `xml:"volumeType"`
	Encrypted        bool               `xml:"encrypted"`
	KmsKeyID         string             `xml:"kmsKeyId,omitempty"`
	Attachments      []volumeAttachment `xml:"attachmentSet>item"`
	Tags             []Tag              `xml:"tagSet>item"`
	created          time.Time
}

type instance struct {
	InstanceID       string        `xml:"instanceId"`
	ImageID          string        `xml:"imageId"`
	State            instanceState `xml:"instanceState"`
	PrivateDNSName   string        `xml:"privateDnsName"`
	PrivateIP        string        `xml:"privateIpAddress"`
	PublicIP         string        `xml:"ipAddress,omitempty"`
	InstanceType     string        `xml:"instanceType"`
	KeyName          string        `xml:"keyName,omitempty"`
	LaunchTime       string        `xml:"launchTime"`
	AvailabilityZone string        `xml:"placement>availabilityZone"`
	SubnetID         string        `xml:"subnetId"`
	VpcID            string        `xml:"vpcId"`
	Groups           []groupRef    `xml:"groupSet>item"`
	IAMProfile       *iamProfile   `xml:"iamInstanceProfile,omitempty"`
	RootDeviceName   string        `xml:"rootDeviceName"`
	RootDeviceType   string        `xml:"rootDeviceType"`
	BlockDevices     []ebsDevice   `xml:"blockDeviceMapping>item"`
	ClientToken      string        `xml:"clientToken,omitempty"`
	Architecture     string        `xml:"architecture"`
	Tags             []Tag         `xml:"tagSet>item"`
	// Metadata is the instance metadata service's options: pending until
	// the instance runs, then applied.
	Metadata    metadataOptionsView `xml:"metadataOptions"`
	StateReason *stateReason        `xml:"stateReason,omitempty"`

	// volumes are the instance's volumes as launched, the root first.
	volumes []InstanceVolume
	// launchFailure, when set, is why the instance terminates instead of
	// running once its boot delay has passed.
	launchFailure     *stateReason
	reservationID     string
	userData          []byte
	kubernetesVersion string
	launched          time.Time
	terminating       time.Time
}

var stateCodes = map[string]int{"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}

func (i *instance) setState(name string) {
	i.State = instanceState{Code: stateCodes[name], Name: name}
	if name == "running" {
		i.Metadata.State = "applied"
	}
}

func (i *instance) info() Instance {
	out := Instance{ID: i.InstanceID, PrivateIP: i.PrivateIP, PrivateDNSName: i.PrivateDNSName, AvailabilityZone: i.AvailabilityZone, SubnetID: i.SubnetID,
		Tags: tagMap(i.Tags), UserData: append([]byte(nil), i.userData...), KubernetesVersion: i.kubernetesVersion,
		MetadataOptions: i.Metadata.MetadataOptions, Volumes: append([]InstanceVolume(nil), i.volumes...)}
	if i.IAMProfile != nil {
		out.IAMInstanceProfile = i.IAMProfile.Arn[strings.LastIndex(i.IAMProfile.Arn, "/")+1:]
	}
	return out
}

// Instance is the instance of that ID as OnInstanceRunning sees it (in
// whatever state it is), and false for an ID that was never launched.
func (s *Simulator) Instance(id string) (Instance, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	i, ok := s.instances[id]
	if !ok {
		return Instance{}, false
	}
	return i.info(), true
}

func (s *Simulator) createSecurityGroup(p params, _ string) (any, *apiError) {
	v, ok := lookup(s, s.vpcs, p.get("VpcId"))
	if !ok {
		return nil, badRequest("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", p.get("VpcId"))
	}
	name := p.get("GroupName")
	if name == "" || name == "default" {
		return nil, badRequest("InvalidParameterValue", "Invalid group name '%s'", name)
	}
	for _, g := range s.groups {
		if g.VpcID == v.VpcID && g.GroupName == name {
			return nil, badRequest("InvalidGroup.Duplicate", "The security group '%s' already exists for VPC '%s'", name, v.VpcID)
		}
	}
	g := newSecurityGroup(newID("sg"), name, p.get("GroupDescription"), v.VpcID, tagList(p.tagSpecs("security-group")), s.now())
	s.groups[g.GroupID] = g
	return struct {
		GroupID string `xml:"groupId"`
		Tags    []Tag  `xml:"tagSet>item"`
	}{g.GroupID, g.Tags}, nil
}

func (s *Simulator) authorizeSecurityGroupIngress(p params, _ string) (any, *apiError) {
	return s.authorizeRules(p, false)
}

func (s *Simulator) authorizeSecurityGroupEgress(p params, _ string) (any, *apiError) {
	return s.authorizeRules(p, true)
}

func (s *Simulator) revokeSecurityGroupIngress(p params, _ string) (any, *apiError) {
	return s.revokeRules(p, false)
}

func (s *Simulator) revokeSecurityGroupEgress(p params, _ string) (any, *apiError) {
	return s.revokeRules(p, true)
}

// authorizeRules adds the request's rules to one direction of its group,
// refusing the call if any of them is there already.
func (s *Simulator) authorizeRules(p params, egress bool) (any, *apiError) {
	g, ok := lookup(s, s.groups, p.get("GroupId"))
	if !ok {
		return nil, badRequest("InvalidGroup.NotFound", "The security group '%s' does not exist", p.get("GroupId"))
	}
	added, err := s.requestRules(p)
	if err != nil {
		return nil, err
	}
	rules, shown := g.direction(egress)
	for i, r := range added {
		if containsRule(*rules, r) || containsRule(added[:i], r) {
			return nil, badRequest("InvalidPermission.Duplicate", "the specified rule \"peer: %s, %s, %s\" already exists", r.peer(), r.protocol, r.ports())
		}
	}
	*rules = append(*rules, added...)
	*shown = mergeRules(*rules)
	return returnTrue(), nil
}

// revokeRules removes the request's rules from one direction of its
// group, refusing the call if any of them is not there.
func (s *Simulator) revokeRules(p params, egress bool) (any, *apiError) {
	g, ok := lookup(s, s.groups, p.get("GroupId"))
	if !ok {
		return nil, badRequest("InvalidGroup.NotFound", "The security group '%s' does not exist", p.get("GroupId"))
	}
	revoked, err := s.requestRules(p)
	if err != nil {
		return nil, err
	}
	rules, shown := g.direction(egress)
	for _, r := range revoked {
		if !containsRule(*rules, r) {
			return nil, badRequest("InvalidPermission.NotFound", "The specified rule does not exist in this security group.")
		}
	}
	var kept []sgRule
	for _, r := range *rules {
		if !containsRule(revoked, r) {
			kept = append(kept, r)
		}
	}
	*rules = kept
	*shown = mergeRules(*rules)
	return returnTrue(), nil
}

// sgRule is one source of one permission: what AWS adds, revokes and
// counts as a rule. DescribeSecurityGroups shows the rules merged into
// one permission per protocol and port range.
type sgRule struct {
	protocol    string
	from, to    *int
	cidr, group string
	description string
}

func (r sgRule) key() string { return r.protocol + "/" + r.ports() }

func (r sgRule) ports() string {
	if r.from == nil {
		return "all ports"
	}
	return strconv.Itoa(*r.from) + "-" + strconv.Itoa(*r.to)
}

func (r sgRule) peer() string {
	if r.cidr != "" {
		return r.cidr
	}
	return r.group
}

func (r sgRule) same(o sgRule) bool {
	return r.key() == o.key() && r.cidr == o.cidr && r.group == o.group
}

func containsRule(rules []sgRule, r sgRule) bool {
	for _, o := range rules {
		if o.same(r) {
			return true
		}
	}
	return false
}

// protocolNames are the protocols AWS names rather than numbers.
var protocolNames = map[string]string{"6": "tcp", "17": "udp", "1": "icmp", "all": "-1"}

// requestRules reads IpPermissions.N into one rule per source.
func (s *Simulator) requestRules(p params) ([]sgRule, *apiError) {
	var out []sgRule
	for _, perm := range p.indexed("IpPermissions") {
		proto := strings.ToLower(perm.get("IpProtocol"))
		if name, ok := protocolNames[proto]; ok {
			proto = name
		}
		base := sgRule{protocol: proto}
		if proto != "-1" {
			if !perm.has("FromPort") || !perm.has("ToPort") {
				return nil, badRequest("InvalidParameterValue", "Invalid value for portRange. Must specify both from and to ports with %s.", strings.ToUpper(proto))
			}
			from, to := perm.int("FromPort", 0), perm.int("ToPort", 0)
			base.from, base.to = &from, &to
		}
		n := len(out)
		for _, r := range perm.indexed("IpRanges") {
			rule := base
			rule.cidr, rule.description = r.get("CidrIp"), r.get("Description")
			out = append(out, rule)
		}
		for _, pair := range perm.indexed("Groups") {
			if _, ok := lookup(s, s.groups, pair.get("GroupId")); !ok {
				return nil, badRequest("InvalidGroup.NotFound", "The security group '%s' does not exist", pair.get("GroupId"))
			}
			rule := base
			rule.group, rule.description = pair.get("GroupId"), pair.get("Description")
			out = append(out, rule)
		}
		if len(out) == n {
			return nil, badRequest("MissingParameter", "The request must contain the parameter ipRanges, ipv6Ranges, prefixListIds or groups")
		}
	}
	return out, nil
}

// mergeRules is what DescribeSecurityGroups shows: one permission per
// protocol and port range, holding every source of it.
func mergeRules(rules []sgRule) []ipPermission {
	var out []ipPermission
	index := map[string]int{}
	for _, r := range rules {
		i, ok := index[r.key()]
		if !ok {
			i = len(out)
			index[r.key()] = i
			out = append(out, ipPermission{IPProtocol: r.protocol, FromPort: r.from, ToPort: r.to})
		}
		if r.cidr != "" {
			out[i].IPRanges = append(out[i].IPRanges, ipRange{CidrIP: r.cidr, Description: r.description})
		} else {
			out[i].Groups = append(out[i].Groups, groupPair{GroupID: r.group, Description: r.description})
		}
	}
	return out
}

func (s *Simulator) deleteSecurityGroup(p params, _ string) (any, *apiError) {
	id := p.get("GroupId")
	g, ok := lookup(s, s.groups, id)
	if !ok {
		return nil, badRequest("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
	}
	if g.GroupName == "default" {
		return nil, badRequest("CannotDelete", "the specified group: \"%s\" name: \"default\" cannot be deleted by a user", id)
	}
	if s.groupInUse(id) {
		return nil, badRequest("DependencyViolation", "resource %s has a dependent object", id)
	}
	delete(s.groups, id)
	return returnTrue(), nil
}

// groupInUse says whether a security group has what AWS calls a dependent
// object: the network interface of an instance that is not terminated or
// of a load balancer (which outlives it for LoadBalancerDetachDelay), or
// an inbound or outbound rule of another group that names it.
func (s *Simulator) groupInUse(id string) bool {
	for _, i := range s.instances {
		if i.State.Name == "terminated" {
			continue
		}
		for _, ref := range i.Groups {
			if ref.GroupID == id {
				return true
			}
		}
	}
	for _, lb := range s.withInterfaces() {
		if contains(lb.SecurityGroups, id) {
			return true
		}
	}
	for _, other := range s.groups {
		if other.GroupID != id && (contains(peerGroups(other.rules), id) || contains(peerGroups(other.egressRules), id)) {
			return true
		}
	}
	return false
}

// peerGroups lists the security groups that rules name as their peers.
func peerGroups(rules []sgRule) []string {
	var out []string
	for _, r := range rules {
		if r.group != "" {
			out = append(out, r.group)
		}
	}
	return out
}

// peerCIDRs lists the address ranges that rules name as their peers.
func peerCIDRs(rules []sgRule) []string {
	var out []string
	for _, r := range rules {
		if r.cidr != "" {
			out = append(out, r.cidr)
		}
	}
	return out
}

func (s *Simulator) describeSecurityGroups(p params, _ string) (any, *apiError) {
	out, next, err := describe(s, p, "GroupId", s.groups, "InvalidGroup.NotFound", "security group", func(g *securityGroup) resourceView {
		return resourceView{created: g.created, tags: g.Tags, values: func(name string) ([]string, bool) {
			switch name {
			case "group-id":
				return []string{g.GroupID}, true
			case "group-name":
				return []string{g.GroupName}, true
			case "vpc-id":
				return []string{g.VpcID}, true
			case "description":
				return []string{g.Description}, true
			case "owner-id":
				return []string{g.OwnerID}, true
			case "ip-permission.group-id":
				return peerGroups(g.rules), true
			case "ip-permission.cidr":
				return peerCIDRs(g.rules), true
			case "egress.ip-permission.group-id":
				return peerGroups(g.egressRules), true
			case "egress.ip-permission.cidr":
				return peerCIDRs(g.egressRules), true
			}
			return nil, false
		}}
	})
	if err != nil {
		return nil, err
	}
	return struct {
		Groups    []*securityGroup `xml:"securityGroupInfo>item"`
		NextToken string           `xml:"nextToken,omitempty"`
	}{out, next}, nil
}

type reservation struct {
	ReservationID string      `xml:"reservationId"`
	OwnerID       string      `xml:"ownerId"`
	Instances     []*instance `xml:"instancesSet>item"`
}

// userDataLimit is EC2's limit on user data, before base64.
const userDataLimit = 16 * 1024

func (s *Simulator) runInstances(p params, region string) (any, *apiError) {
	token := p.get("ClientToken")
	if token != "" {
		if resID, ok := s.clientTokens["RunInstances/"+token]; ok {
			return s.reservation(resID), nil
		}
	}
	minCount, maxCount := p.int("MinCount", 1), p.int("MaxCount", 1)
	if minCount < 1 || maxCount < minCount {
		return nil, badRequest("InvalidParameterValue", "Invalid MinCount/MaxCount: %d/%d", minCount, maxCount)
	}
	typeName := p.get("InstanceType")
	if typeName == "" {
		typeName = "m1.small"
	}
	if apiErr := checkTagSpecs(p); apiErr != nil {
		return nil, apiErr
	}
	userData, err := base64.StdEncoding.DecodeString(p.get("UserData"))
	if err != nil {
		return nil, badRequest("InvalidParameterValue", "Invalid BASE64 encoding of user data.")
	}
	if len(userData) > userDataLimit {
		return nil, badRequest("InvalidParameterValue", "User data is limited to %d bytes", userDataLimit)
	}

	subnetID := p.get("SubnetId")
	groupIDs := p.list("SecurityGroupId")
	if ni := p.indexed("NetworkInterface"); len(ni) > 0 {
		subnetID = ni[0].get("SubnetId")
		groupIDs = ni[0].list("SecurityGroupId")
	}
	var sn *subnet
	if subnetID != "" {
		var ok bool
		if sn, ok = lookup(s, s.subnets, subnetID); !ok {
			return nil, badRequest("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", subnetID)
		}
	} else {
		return nil, badRequest("VPCIdNotSpecified", "No default VPC for this user. GroupName is only supported for EC2-Classic and default VPC.")
	}
	var groups []groupRef
	for _, id := range groupIDs {
		g, ok := lookup(s, s.groups, id)
		if !ok {
			return nil, badRequest("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
		}
		if g.VpcID != sn.VpcID {
			return nil, badRequest("InvalidParameter", "Security group %s and subnet %s belong to different networks.", id, subnetID)
		}
		groups = append(groups, groupRef{GroupID: g.GroupID, GroupName: g.GroupName})
	}
	if az := p.get("Placement.AvailabilityZone"); az != "" && az != sn.AvailabilityZone {
		return nil, badRequest("InvalidParameterValue", "Availability zone %s does not match subnet %s", az, subnetID)
	}
	itype, apiErr := launchType(typeName, sn.AvailabilityZone, region)
	if apiErr != nil {
		return nil, apiErr
	}
	img, apiErr := s.launchImage(p.get("ImageId"), itype)
	if apiErr != nil {
		return nil, apiErr
	}
	rootDevice, extraDevices, apiErr := blockDevices(p, img)
	if apiErr != nil {
		return nil, apiErr
	}
	profile, apiErr := s.launchProfile(p)
	if apiErr != nil {
		return nil, apiErr
	}
	metadata, apiErr := metadataOptions(p, img)
	if apiErr != nil {
		return nil, apiErr
	}
	if name := p.get("KeyName"); name != "" {
		if _, ok := s.keyPairNamed(name); !ok {
			return nil, keyPairNotFound(name)
		}
	}

	resID := newID("r")
	tags := tagList(p.tagSpecs("instance"))
	for n := 0; n < maxCount; n++ {
		i := &instance{InstanceID: newID("i"), ImageID: img.ImageID, InstanceType: itype.name, KeyName: p.get("KeyName"),
			LaunchTime: s.now().UTC().Format(time.RFC3339), AvailabilityZone: sn.AvailabilityZone, SubnetID: sn.SubnetID,
			VpcID: sn.VpcID, Groups: groups, IAMProfile: profile, RootDeviceName: img.RootDeviceName, RootDeviceType: img.RootDeviceType,
			ClientToken: token, Architecture: img.Architecture, Tags: tags,
			Metadata:      metadataOptionsView{State: "pending", MetadataOptions: metadata},
			reservationID: resID, userData: userData, kubernetesVersion: img.kubernetesVersion, launched: s.now()}
		i.PrivateIP = s.nextIP(sn)
		i.PrivateDNSName = privateDNSName(i.PrivateIP, region)
		if sn.MapPublicIPOnLaunch {
			s.eipSeq++
			i.PublicIP = publicIP(s.eipSeq)
		}
		s.attachVolume(i, rootDevice, img.root().Ebs.SnapshotID, p.tagSpecs("volume"), region, true)
		for _, d := range extraDevices {
			s.attachVolume(i, d, "", p.tagSpecs("volume"), region, false)
		}
		i.setState("pending")
		s.instances[i.InstanceID] = i
	}
	if token != "" {
		s.clientTokens["RunInstances/"+token] = resID
	}
	s.advance()
	return s.reservation(resID), nil
}

func (s *Simulator) reservation(resID string) *reservation {
	r := &reservation{ReservationID: resID, OwnerID: accountID}
	for _, id := range keys(s.instances) {
		if i := s.instances[id]; i.reservationID == resID {
			r.Instances = append(r.Instances, i)
		}
	}
	return r
}

func (s *Simulator) describeInstances(p params, _ string) (any, *apiError) {
	if err := checkMaxResults(p, 5, 1000); err != nil {
		return nil, err
	}
	instances, next, err := describe(s, p, "InstanceId", s.instances, "InvalidInstanceID.NotFound", "instance", func(i *instance) resourceView {
		return resourceView{created: i.launched, tags: i.Tags, values: func(name string) ([]string, bool) {
			switch name {
			case "instance-id":
				return []string{i.InstanceID}, true
			case "instance-state-name":
				return []string{i.State.Name}, true
			case "instance-state-code":
				return []string{strconv.Itoa(i.State.Code)}, true
			case "subnet-id":
				return []string{i.SubnetID}, true
			case "vpc-id":
				return []string{i.VpcID}, true
			case "availability-zone":
				return []string{i.AvailabilityZone}, true
			case "instance-type":
				return []string{i.InstanceType}, true
			case "private-ip-address":
				return []string{i.PrivateIP}, true
			case "client-token":
				return []string{i.ClientToken}, true
			case "image-id":
				return []string{i.ImageID}, true
			case "metadata-options.http-tokens":
				return []string{i.Metadata.HTTPTokens}, true
			case "metadata-options.http-put-response-hop-limit":
				return []string{strconv.Itoa(i.Metadata.HTTPPutResponseHopLimit)}, true
			case "metadata-options.http-endpoint":
				return []string{i.Metadata.HTTPEndpoint}, true
			}
			return nil, false
		}}
	})
	if err != nil {
		return nil, err
	}
	// Instances are grouped by reservation, in the order of their IDs.
	var out []*reservation
	byRes := map[string]*reservation{}
	for _, i := range instances {
		r, ok := byRes[i.reservationID]
		if !ok {
			r = &reservation{ReservationID: i.reservationID, OwnerID: accountID}
			byRes[i.reservationID] = r
			out = append(out, r)
		}
		r.Instances = append(r.Instances, i)
	}
	return struct {
		Reservations []*reservation `xml:"reservationSet>item"`
		NextToken    string         `xml:"nextToken,omitempty"`
	}{out, next}, nil
}

func (s *Simulator) terminateInstances(p params, _ string) (any, *apiError) {
	type change struct {
		InstanceID string        `xml:"instanceId"`
		Current    instanceState `xml:"currentState"`
		Previous   instanceState `xml:"previousState"`
	}
	ids := p.list("InstanceId")
	for _, id := range ids {
		if _, ok := lookup(s, s.instances, id); !ok {
			return nil, badRequest("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
		}
	}
	var out []change
	for _, id := range ids {
		i := s.instances[id]
		prev := i.State
		if i.State.Name != "terminated" && i.State.Name != "shutting-down" {
			i.setState("shutting-down")
			i.terminating = s.now()
		}
		s.advance()
		out = append(out, change{InstanceID: id, Current: i.State, Previous: prev})
	}
	return struct {
		Instances []change `xml:"instancesSet>item"`
	}{out}, nil
}

// describeInstanceAttribute answers for userData, which DescribeInstances
// does not return.
func (s *Simulator) describeInstanceAttribute(p params, _ string) (any, *apiError) {
	i, ok := lookup(s, s.instances, p.get("InstanceId"))
	if !ok {
		return nil, badRequest("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", p.get("InstanceId"))
	}
	if p.get("Attribute") != "userData" {
		return nil, badRequest("InvalidParameterValue", "Value (%s) for parameter attribute is invalid.", p.get("Attribute"))
	}
	return struct {
		InstanceID string `xml:"instanceId"`
		UserData   string `xml:"userData>value"`
	}{i.InstanceID, base64.StdEncoding.EncodeToString(i.userData)}, nil
}

// launchImage is the image RunInstances boots: it must exist, be
// available and suit the instance type's architecture.
func (s *Simulator) launchImage(id string, itype *instanceType) (*image, *apiError) {
	if !amiPattern.MatchString(id) {
		return nil, malformedAMI(id)
	}
	img, ok := s.images[id]
	if !ok || s.notYetVisible(img.created) {
		return nil, amiNotFound(id)
	}
	if img.State != "available" {
		return nil, badRequest("InvalidAMIID.Unavailable", "The image id '[%s]' is not available (state %s)", id, img.State)
	}
	if !itype.runs(img.Architecture) {
		return nil, badRequest("InvalidParameterValue", "The architecture '%s' of the specified instance type does not match the architecture '%s' of the specified AMI. "+
			"Specify an instance type and an AMI that have matching architectures, and try again.", itype.architecture(), img.Architecture)
	}
	return img, nil
}

// attachVolume makes the EBS volume of a block device and attaches it.
// A key EBS cannot use fails the instance's launch.
func (s *Simulator) attachVolume(i *instance, d deviceRequest, snapshot string, tags map[string]string, region string, root bool) {
	v := &volume{VolumeID: newID("vol"), Size: d.sizeGiB, SnapshotID: snapshot, AvailabilityZone: i.AvailabilityZone, Status: "in-use",
		CreateTime: s.now().UTC().Format(time.RFC3339), VolumeType: d.volumeType, Encrypted: d.encrypted, Tags: tagList(tags), created: s.now()}
	if d.encrypted {
		arn, ok := kmsKeyARN(region, d.kmsKeyID)
		if !ok {
			arn, i.launchFailure = d.kmsKeyID, invalidKMSKey
		}
		v.KmsKeyID = arn
	}
	i.volumes = append(i.volumes, InstanceVolume{Device: d.device, VolumeID: v.VolumeID, SizeGiB: v.Size, VolumeType: v.VolumeType,
		Root: root, DeleteOnTermination: d.deleteOnTermination, Encrypted: v.Encrypted, KMSKeyID: v.KmsKeyID})
	v.Attachments = []volumeAttachment{{VolumeID: v.VolumeID, InstanceID: i.InstanceID, Device: d.device, Status: "attached",
		DeleteOnTermination: d.deleteOnTermination}}
	s.volumes[v.VolumeID] = v
	dev := ebsDevice{DeviceName: d.device}
	dev.Ebs.VolumeID, dev.Ebs.Status, dev.Ebs.AttachTime, dev.Ebs.DeleteOnTermination = v.VolumeID, "attached", v.CreateTime, d.deleteOnTermination
	i.BlockDevices = append(i.BlockDevices, dev)
}

// releaseVolumes deletes a terminated instance's volumes that go with it
// and detaches the others, which then live on (and cost) on their own.
// An instance that failed to launch leaves no volume.
func (s *Simulator) releaseVolumes(instanceID string, launched bool) {
	for id, v := range s.volumes {
		if len(v.Attachments) == 0 || v.Attachments[0].InstanceID != instanceID {
			continue
		}
		if v.Attachments[0].DeleteOnTermination || !launched {
			delete(s.volumes, id)
			continue
		}
		v.Attachments, v.Status = nil, "available"
	}
}

func (s *Simulator) describeVolumes(p params, _ string) (any, *apiError) {
	out, next, err := describe(s, p, "VolumeId", s.volumes, "InvalidVolume.NotFound", "volume", func(v *volume) resourceView {
		return resourceView{created: v.created, tags: v.Tags, values: func(name string) ([]string, bool) {
			switch name {
			case "volume-id":
				return []string{v.VolumeID}, true
			case "status":
				return []string{v.Status}, true
			case "size":
				return []string{strconv.Itoa(v.Size)}, true
			case "availability-zone":
				return []string{v.AvailabilityZone}, true
			case "encrypted":
				return []string{boolString(v.Encrypted)}, true
			case "volume-type":
				return []string{v.VolumeType}, true
			case "attachment.instance-id":
				var ids []string
				for _, a := range v.Attachments {
					ids = append(ids, a.InstanceID)
				}
				return ids, true
			case "attachment.device":
				var devs []string
				for _, a := range v.Attachments {
					devs = append(devs, a.Device)
				}
				return devs, true
			}
			return nil, false
		}}
	})
	if err != nil {
		return nil, err
	}
	return struct {
		Volumes   []*volume `xml:"volumeSet>item"`
		NextToken string    `xml:"nextToken,omitempty"`
	}{out, next}, nil
}

// privateDNSName is the name EC2 gives an address: ec2.internal in
// us-east-1, <region>.compute.internal elsewhere.
func privateDNSName(ip, region string) string {
	if region == "us-east-1" {
		return "ip-" + dashed(ip) + ".ec2.internal"
	}
	return "ip-" + dashed(ip) + "." + region + ".compute.internal"
}

func dashed(ip string) string {
	out := []byte(ip)
	for i, c := range out {
		if c == '.' {
			out[i] = '-'
		}
	}
	return string(out)
}

var ec2Actions = map[string]func(*Simulator, params, string) (any, *apiError){
	"CreateVpc":                     (*Simulator).createVpc,
	"DescribeVpcs":                  (*Simulator).describeVpcs,
	"ModifyVpcAttribute":            (*Simulator).modifyVpcAttribute,
	"DeleteVpc":                     (*Simulator).deleteVpc,
	"CreateSubnet":                  (*Simulator).createSubnet,
	"DescribeSubnets":               (*Simulator).describeSubnets,
	"ModifySubnetAttribute":         (*Simulator).modifySubnetAttribute,
	"DeleteSubnet":                  (*Simulator).deleteSubnet,
	"CreateInternetGateway":         (*Simulator).createInternetGateway,
	"AttachInternetGateway":         (*Simulator).attachInternetGateway,
	"DetachInternetGateway":         (*Simulator).detachInternetGateway,
	"DeleteInternetGateway":         (*Simulator).deleteInternetGateway,
	"DescribeInternetGateways":      (*Simulator).describeInternetGateways,
	"AllocateAddress":               (*Simulator).allocateAddress,
	"DescribeAddresses":             (*Simulator).describeAddresses,
	"ReleaseAddress":                (*Simulator).releaseAddress,
	"CreateNatGateway":              (*Simulator).createNatGateway,
	"DescribeNatGateways":           (*Simulator).describeNatGateways,
	"DeleteNatGateway":              (*Simulator).deleteNatGateway,
	"CreateRouteTable":              (*Simulator).createRouteTable,
	"CreateRoute":                   (*Simulator).createRoute,
	"AssociateRouteTable":           (*Simulator).associateRouteTable,
	"DisassociateRouteTable":        (*Simulator).disassociateRouteTable,
	"DeleteRouteTable":              (*Simulator).deleteRouteTable,
	"DescribeRouteTables":           (*Simulator).describeRouteTables,
	"CreateSecurityGroup":           (*Simulator).createSecurityGroup,
	"AuthorizeSecurityGroupIngress": (*Simulator).authorizeSecurityGroupIngress,
	"RevokeSecurityGroupIngress":    (*Simulator).revokeSecurityGroupIngress,
	"AuthorizeSecurityGroupEgress":  (*Simulator).authorizeSecurityGroupEgress,
	"RevokeSecurityGroupEgress":     (*Simulator).revokeSecurityGroupEgress,
	"DeleteSecurityGroup":           (*Simulator).deleteSecurityGroup,
	"DescribeSecurityGroups":        (*Simulator).describeSecurityGroups,
	"DescribeAvailabilityZones":     (*Simulator).describeAvailabilityZones,
	"CreateTags":                    (*Simulator).createTags,
	"RunInstances":                  (*Simulator).runInstances,
	"DescribeInstances":             (*Simulator).describeInstances,
	"TerminateInstances":            (*Simulator).terminateInstances,
	"DescribeInstanceAttribute":     (*Simulator).describeInstanceAttribute,
	"DescribeImages":                (*Simulator).describeImages,
	"DescribeVolumes":               (*Simulator).describeVolumes,
	"CreateKeyPair":                 (*Simulator).createKeyPair,
	"ImportKeyPair":                 (*Simulator).importKeyPair,
	"DescribeKeyPairs":              (*Simulator).describeKeyPairs,
	"DeleteKeyPair":                 (*Simulator).deleteKeyPair,
	"DescribeInstanceTypes":         (*Simulator).describeInstanceTypes,
	"DescribeInstanceTypeOfferings": (*Simulator).describeInstanceTypeOfferings,
}
