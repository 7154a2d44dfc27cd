package awsemu

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// iam answers the IAM Query API.
func (s *Server) iam(req *request) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.accounts[req.account]
	if a == nil {
		return nil, &apiError{403, "InvalidClientTokenId", "no such account"}
	}
	if aerr := s.authorizeIAM(req); aerr != nil {
		return nil, aerr
	}
	if aerr := s.strictIAM(a, req); aerr != nil {
		return nil, aerr
	}
	p := req.params
	now := s.now().UTC()
	part := s.st.partition
	var b xb

	user := func() (*User, error) {
		name := p["UserName"]
		if name == "" {
			if i := strings.LastIndex(req.callerARN, ":user/"); i >= 0 {
				name = req.callerARN[strings.LastIndex(req.callerARN, "/")+1:]
			}
		}
		if name == "" {
			return nil, errInvalid("UserName is required")
		}
		u := findUser(a, name)
		if u == nil {
			return nil, errNoSuchEntity("The user with name %s cannot be found.", name)
		}
		return u, nil
	}
	listPage := func(n int) int { return n } // keep names short below
	_ = listPage

	writeUser := func(u *User) {
		b.leaf("Path", u.Path)
		b.leaf("UserName", u.Name)
		b.leaf("UserId", u.ID)
		b.leaf("Arn", userARN(part, a.ID, u))
		b.time("CreateDate", u.Created)
		if u.PasswordLastUsed != nil {
			b.time("PasswordLastUsed", *u.PasswordLastUsed)
		}
		if u.PermissionsBoundary != "" {
			b.open("PermissionsBoundary")
			b.leaf("PermissionsBoundaryType", "Policy")
			b.leaf("PermissionsBoundaryArn", u.PermissionsBoundary)
			b.close("PermissionsBoundary")
		}
	}
	truncated := func(next string) {
		b.leaf("IsTruncated", fmt.Sprint(next != ""))
		b.leafIf("Marker", next)
	}

	switch req.action {
	case "GetUser":
		u, err := user()
		if err != nil {
			return nil, err
		}
		b.open("User")
		writeUser(u)
		b.close("User")

	case "ListUsers":
		prefix := p["PathPrefix"]
		var us []*User
		for _, u := range sortedUsers(a) {
			if prefix == "" || strings.HasPrefix(u.Path, prefix) {
				us = append(us, u)
			}
		}
		pg, next, err := page(us, func(u *User) string { return u.Name }, s.cursor(req, "Marker"), intParam(p, "MaxItems"), s.st.pageSize, 1000)
		if err != nil {
			return nil, err
		}
		b.open("Users")
		for _, u := range pg {
			b.open("member")
			writeUser(u)
			b.close("member")
		}
		b.close("Users")
		truncated(next)

	case "CreateUser":
		name := p["UserName"]
		if name == "" {
			return nil, errInvalid("UserName is required")
		}
		if findUser(a, name) != nil {
			return nil, &apiError{409, "EntityAlreadyExists", "User with name " + name + " already exists."}
		}
		u := &User{Name: name, Path: p["Path"], Created: now}
		s.st.normalizeUser(a, u, now)
		a.Users = append(a.Users, u)
		b.open("User")
		writeUser(u)
		b.close("User")

	case "DeleteUser":
		u, err := user()
		if err != nil {
			return nil, err
		}
		if dep := dependents(a, u); dep != "" {
			return nil, &apiError{409, "DeleteConflict", "Cannot delete entity, must " + dep + " first."}
		}
		for i, x := range a.Users {
			if x == u {
				a.Users = append(a.Users[:i:i], a.Users[i+1:]...)
				break
			}
		}

	case "ListServiceSpecificCredentials":
		type row struct {
			u *User
			c *ServiceCred
		}
		var rows []row
		var us []*User
		if p["AllUsers"] == "true" {
			us = sortedUsers(a)
		} else {
			u, err := user()
			if err != nil {
				return nil, err
			}
			us = []*User{u}
		}
		for _, u := range us {
			for _, c := range u.ServiceCredentials {
				if p["ServiceName"] == "" || p["ServiceName"] == c.Service {
					rows = append(rows, row{u, c})
				}
			}
		}
		pg, next, err := page(rows, func(r row) string { return r.u.Name + "\x00" + r.c.ID }, s.cursor(req, "Marker"), intParam(p, "MaxItems"), s.st.pageSize, 1000)
		if err != nil {
			return nil, err
		}
		b.open("ServiceSpecificCredentials")
		for _, r := range pg {
			b.open("member")
			writeServiceCred(&b, a.ID, r.u, r.c, now, false)
			b.close("member")
		}
		b.close("ServiceSpecificCredentials")
		if p["AllUsers"] == "true" || p["Marker"] != "" || p["MaxItems"] != "" {
			truncated(next)
		}

	case "CreateServiceSpecificCredential":
		u, err := user()
		if err != nil {
			return nil, err
		}
		svc := p["ServiceName"]
		if svc == "" {
			return nil, errInvalid("ServiceName is required")
		}
		n := 0
		for _, c := range u.ServiceCredentials {
			if c.Service == svc {
				n++
			}
		}
		if n >= 2 {
			return nil, &apiError{409, "LimitExceeded", "Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: 2"}
		}
		c := &ServiceCred{Service: svc, Created: now, Status: "Active"}
		if d := intParam(p, "CredentialAgeDays"); d > 0 {
			e := now.AddDate(0, 0, d)
			c.Expires = &e
		}
		u.ServiceCredentials = append(u.ServiceCredentials, c)
		s.st.normalizeUser(a, u, now)
		b.open("ServiceSpecificCredential")
		writeServiceCred(&b, a.ID, u, c, now, true)
		b.close("ServiceSpecificCredential")
		req.keyEvent = &keyEvent{request: map[string]any{"userName": u.Name, "serviceName": svc},
			response: map[string]any{"serviceSpecificCredential": trailServiceCred(a.ID, u, c, now)}}
		if d := intParam(p, "CredentialAgeDays"); d > 0 {
			req.keyEvent.request["credentialAgeDays"] = d
		}

	case "DeleteServiceSpecificCredential", "UpdateServiceSpecificCredential", "ResetServiceSpecificCredential":
		u, err := user()
		if err != nil {
			return nil, err
		}
		id := p["ServiceSpecificCredentialId"]
		idx := -1
		for i, c := range u.ServiceCredentials {
			if c.ID == id {
				idx = i
			}
		}
		if idx < 0 {
			return nil, errNoSuchEntity("No such credential %s", id)
		}
		switch req.action {
		case "DeleteServiceSpecificCredential":
			u.ServiceCredentials = append(u.ServiceCredentials[:idx:idx], u.ServiceCredentials[idx+1:]...)
			req.keyEvent = &keyEvent{request: map[string]any{"userName": u.Name, "serviceSpecificCredentialId": id}}
		case "UpdateServiceSpecificCredential":
			if p["Status"] != "Active" && p["Status"] != "Inactive" {
				return nil, errInvalid("Status must be Active or Inactive")
			}
			u.ServiceCredentials[idx].Status = p["Status"]
			req.keyEvent = &keyEvent{request: map[string]any{"userName": u.Name, "serviceSpecificCredentialId": id, "status": p["Status"]}}
		default:
			c := u.ServiceCredentials[idx]
			c.Secret = s.st.newServiceSecret(u.Name, a.ID, c.Service)
			b.open("ServiceSpecificCredential")
			writeServiceCred(&b, a.ID, u, c, now, true)
			b.close("ServiceSpecificCredential")
		}

	case "ListAccessKeys":
		u, err := user()
		if err != nil {
			return nil, err
		}
		pg, next, err := page(u.AccessKeys, func(k *AccessKey) string { return k.ID }, s.cursor(req, "Marker"), intParam(p, "MaxItems"), s.st.pageSize, 1000)
		if err != nil {
			return nil, err
		}
		b.open("AccessKeyMetadata")
		for _, k := range pg {
			b.open("member")
			b.leaf("UserName", u.Name)
			b.leaf("AccessKeyId", k.ID)
			b.leaf("Status", k.Status)
			b.time("CreateDate", k.Created)
			b.close("member")
		}
		b.close("AccessKeyMetadata")
		truncated(next)

	case "GetAccessKeyLastUsed":
		id := p["AccessKeyId"]
		var owner *User
		var key *AccessKey
		for _, u := range a.Users {
			for _, k := range u.AccessKeys {
				if k.ID == id {
					owner, key = u, k
				}
			}
		}
		if key == nil {
			return nil, &apiError{403, "AccessDenied", "Access key " + id + " does not belong to this account"}
		}
		b.leaf("UserName", owner.Name)
		b.open("AccessKeyLastUsed")
		if key.LastUsed != nil {
			b.time("LastUsedDate", *key.LastUsed)
			b.leaf("ServiceName", orNA(key.LastUsedService))
			b.leaf("Region", orNA(key.LastUsedRegion))
		} else {
			b.leaf("ServiceName", "N/A")
			b.leaf("Region", "N/A")
		}
		b.close("AccessKeyLastUsed")

	case "CreateAccessKey":
		u, err := user()
		if err != nil {
			return nil, err
		}
		if len(u.AccessKeys) >= 2 {
			return nil, &apiError{409, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2"}
		}
		k := &AccessKey{ID: s.st.newID("AKIA", a.ID), Status: "Active", Created: now}
		u.AccessKeys = append(u.AccessKeys, k)
		b.open("AccessKey")
		b.leaf("UserName", u.Name)
		b.leaf("AccessKeyId", k.ID)
		b.leaf("Status", k.Status)
		b.leaf("SecretAccessKey", newSecret(s.st.next()))
		b.time("CreateDate", k.Created)
		b.close("AccessKey")
		req.keyEvent = &keyEvent{request: map[string]any{"userName": u.Name},
			response: map[string]any{"accessKey": map[string]any{"userName": u.Name, "accessKeyId": k.ID, "status": k.Status, "createDate": trailDate(k.Created)}}}

	case "UpdateAccessKey", "DeleteAccessKey":
		u, err := user()
		if err != nil {
			return nil, err
		}
		id := p["AccessKeyId"]
		idx := -1
		for i, k := range u.AccessKeys {
			if k.ID == id {
				idx = i
			}
		}
		if idx < 0 {
			return nil, errNoSuchEntity("The Access Key with id %s cannot be found.", id)
		}
		req.keyEvent = &keyEvent{request: map[string]any{"userName": u.Name, "accessKeyId": id}}
		if req.action == "DeleteAccessKey" {
			u.AccessKeys = append(u.AccessKeys[:idx:idx], u.AccessKeys[idx+1:]...)
		} else {
			if p["Status"] != "Active" && p["Status"] != "Inactive" {
				return nil, errInvalid("Status must be Active or Inactive")
			}
			u.AccessKeys[idx].Status = p["Status"]
			req.keyEvent.request["status"] = p["Status"]
		}

	case "ListAttachedUserPolicies":
		u, err := user()
		if err != nil {
			return nil, err
		}
		pol := append([]string(nil), u.AttachedPolicies...)
		sort.Strings(pol)
		pg, next, err := page(pol, func(s string) string { return s }, s.cursor(req, "Marker"), intParam(p, "MaxItems"), s.st.pageSize, 1000)
		if err != nil {
			return nil, err
		}
		b.open("AttachedPolicies")
		for _, arn := range pg {
			b.open("member")
			b.leaf("PolicyName", arn[strings.LastIndex(arn, "/")+1:])
			b.leaf("PolicyArn", arn)
			b.close("member")
		}
		b.close("AttachedPolicies")
		truncated(next)

	case "AttachUserPolicy", "DetachUserPolicy":
		u, err := user()
		if err != nil {
			return nil, err
		}
		arn := p["PolicyArn"]
		if req.action == "AttachUserPolicy" {
			if _, had := removeString(append([]string(nil), u.AttachedPolicies...), arn); !had {
				u.AttachedPolicies = append(u.AttachedPolicies, arn)
			}
		} else {
			var had bool
			if u.AttachedPolicies, had = removeString(u.AttachedPolicies, arn); !had {
				return nil, errNoSuchEntity("Policy %s was not found.", arn)
			}
		}

	case "ListUserPolicies", "ListRolePolicies":
		inline, err := s.inlineOf(a, req)
		if err != nil {
			return nil, err
		}
		names := make([]string, 0, len(inline))
		for n := range inline {
			names = append(names, n)
		}
		sort.Strings(names)
		pg, next, err := page(names, func(s string) string { return s }, s.cursor(req, "Marker"), intParam(p, "MaxItems"), s.st.pageSize, 1000)
		if err != nil {
			return nil, err
		}
		b.open("PolicyNames")
		for _, n := range pg {
			b.leaf("member", n)
		}
		b.close("PolicyNames")
		truncated(next)

	case "GetUserPolicy", "GetRolePolicy":
		inline, err := s.inlineOf(a, req)
		if err != nil {
			return nil, err
		}
		doc, ok := inline[p["PolicyName"]]
		if !ok {
			return nil, errNoSuchEntity("The policy with name %s cannot be found.", p["PolicyName"])
		}
		if req.action == "GetUserPolicy" {
			b.leaf("UserName", p["UserName"])
		} else {
			b.leaf("RoleName", p["RoleName"])
		}
		b.leaf("PolicyName", p["PolicyName"])
		b.leaf("PolicyDocument", url.QueryEscape(doc))

	case "PutUserPolicy", "PutRolePolicy":
		inline, err := s.inlineOf(a, req)
		if err != nil {
			return nil, err
		}
		if p["PolicyName"] == "" || p["PolicyDocument"] == "" {
			return nil, errInvalid("PolicyName and PolicyDocument are required")
		}
		if err := validPolicy(p["PolicyDocument"]); err != nil {
			return nil, &apiError{400, "MalformedPolicyDocument", err.Error()}
		}
		inline[p["PolicyName"]] = p["PolicyDocument"]

	case "DeleteUserPolicy", "DeleteRolePolicy":
		inline, err := s.inlineOf(a, req)
		if err != nil {
			return nil, err
		}
		if _, ok := inline[p["PolicyName"]]; !ok {
			return nil, errNoSuchEntity("The user policy with name %s cannot be found.", p["PolicyName"])
		}
		delete(inline, p["PolicyName"])

	case "ListGroupsForUser":
		u, err := user()
		if err != nil {
			return nil, err
		}
		gs := append([]string(nil), u.Groups...)
		sort.Strings(gs)
		pg, next, err := page(gs, func(s string) string { return s }, s.cursor(req, "Marker"), intParam(p, "MaxItems"), s.st.pageSize, 1000)
		if err != nil {
			return nil, err
		}
		b.open("Groups")
		for _, name := range pg {
			g := findGroup(a, name)
			b.open("member")
			b.leaf("Path", "/")
			b.leaf("GroupName", g.Name)
			b.leaf("GroupId", g.ID)
			b.leaf("Arn", fmt.Sprintf("arn:%s:iam::%s:group/%s", part, a.ID, g.Name))
			b.time("CreateDate", g.Created)
			b.close("member")
		}
		b.close("Groups")
		truncated(next)

	case "AddUserToGroup", "RemoveUserFromGroup":
		u, err := user()
		if err != nil {
			return nil, err
		}
		g := findGroup(a, p["GroupName"])
		if g == nil {
			return nil, errNoSuchEntity("The group with name %s cannot be found.", p["GroupName"])
		}
		var had bool
		u.Groups, had = removeString(u.Groups, g.Name)
		if req.action == "AddUserToGroup" {
			u.Groups = append(u.Groups, g.Name)
		} else if !had {
			return nil, errNoSuchEntity("User %s is not in group %s.", u.Name, g.Name)
		}

	case "GetLoginProfile", "DeleteLoginProfile", "CreateLoginProfile":
		u, err := user()
		if err != nil {
			return nil, err
		}
		switch req.action {
		case "CreateLoginProfile":
			if u.LoginProfile != nil {
				return nil, &apiError{409, "EntityAlreadyExists", "Login Profile for user " + u.Name + " already exists."}
			}
			u.LoginProfile = &LoginProfile{Created: now, ResetRequired: p["PasswordResetRequired"] == "true"}
		case "DeleteLoginProfile":
			if u.LoginProfile == nil {
				return nil, errNoSuchEntity("Login Profile for User %s cannot be found.", u.Name)
			}
			u.LoginProfile = nil
			return queryReply(req, ""), nil
		default:
			if u.LoginProfile == nil {
				return nil, errNoSuchEntity("Login Profile for User %s cannot be found.", u.Name)
			}
		}
		b.open("LoginProfile")
		b.leaf("UserName", u.Name)
		b.time("CreateDate", u.LoginProfile.Created)
		b.leaf("PasswordResetRequired", fmt.Sprint(u.LoginProfile.ResetRequired))
		b.close("LoginProfile")

	case "ListMFADevices":
		u, err := user()
		if err != nil {
			return nil, err
		}
		pg, next, err := page(u.MFADevices, func(m *MFADevice) string { return m.Serial }, s.cursor(req, "Marker"), intParam(p, "MaxItems"), s.st.pageSize, 1000)
		if err != nil {
			return nil, err
		}
		b.open("MFADevices")
		for _, m := range pg {
			b.open("member")
			b.leaf("UserName", u.Name)
			b.leaf("SerialNumber", m.Serial)
			b.time("EnableDate", m.Enabled)
			b.close("member")
		}
		b.close("MFADevices")
		truncated(next)

	case "DeactivateMFADevice":
		u, err := user()
		if err != nil {
			return nil, err
		}
		idx := -1
		for i, m := range u.MFADevices {
			if m.Serial == p["SerialNumber"] {
				idx = i
			}
		}
		if idx < 0 {
			return nil, errNoSuchEntity("MFA Device with serial number %s does not exist.", p["SerialNumber"])
		}
		u.MFADevices = append(u.MFADevices[:idx:idx], u.MFADevices[idx+1:]...)

	case "DeleteVirtualMFADevice":
		serial := p["SerialNumber"]
		if !a.virtualMFA[serial] {
			return nil, errNoSuchEntity("VirtualMFADevice with serial number %s doesn't exist.", serial)
		}
		for _, u := range a.Users {
			for _, m := range u.MFADevices {
				if m.Serial == serial {
					return nil, &apiError{409, "DeleteConflict", "MFA Device is still in use"}
				}
			}
		}
		delete(a.virtualMFA, serial)

	case "ListSigningCertificates":
		u, err := user()
		if err != nil {
			return nil, err
		}
		pg, next, err := page(u.SigningCertificates, func(c *Certificate) string { return c.ID }, s.cursor(req, "Marker"), intParam(p, "MaxItems"), s.st.pageSize, 1000)
		if err != nil {
			return nil, err
		}
		b.open("Certificates")
		for _, c := range pg {
			b.open("member")
			b.leaf("UserName", u.Name)
			b.leaf("CertificateId", c.ID)
			b.leaf("CertificateBody", "-----BEGIN CERTIFICATE-----\nMIIEMU\n-----END CERTIFICATE-----")
			b.leaf("Status", c.Status)
			b.time("UploadDate", c.Uploaded)
			b.close("member")
		}
		b.close("Certificates")
		truncated(next)

	case "DeleteSigningCertificate":
		u, err := user()
		if err != nil {
			return nil, err
		}
		idx := -1
		for i, c := range u.SigningCertificates {
			if c.ID == p["CertificateId"] {
				idx = i
			}
		}
		if idx < 0 {
			return nil, errNoSuchEntity("The Certificate with id %s cannot be found.", p["CertificateId"])
		}
		u.SigningCertificates = append(u.SigningCertificates[:idx:idx], u.SigningCertificates[idx+1:]...)

	case "ListSSHPublicKeys":
		u, err := user()
		if err != nil {
			return nil, err
		}
		pg, next, err := page(u.SSHPublicKeys, func(k *SSHKey) string { return k.ID }, s.cursor(req, "Marker"), intParam(p, "MaxItems"), s.st.pageSize, 1000)
		if err != nil {
			return nil, err
		}
		b.open("SSHPublicKeys")
		for _, k := range pg {
			b.open("member")
			b.leaf("UserName", u.Name)
			b.leaf("SSHPublicKeyId", k.ID)
			b.leaf("Status", k.Status)
			b.time("UploadDate", k.Uploaded)
			b.close("member")
		}
		b.close("SSHPublicKeys")
		truncated(next)

	case "DeleteSSHPublicKey":
		u, err := user()
		if err != nil {
			return nil, err
		}
		idx := -1
		for i, k := range u.SSHPublicKeys {
			if k.ID == p["SSHPublicKeyId"] {
				idx = i
			}
		}
		if idx < 0 {
			return nil, errNoSuchEntity("The Public Key with id %s cannot be found.", p["SSHPublicKeyId"])
		}
		u.SSHPublicKeys = append(u.SSHPublicKeys[:idx:idx], u.SSHPublicKeys[idx+1:]...)

	case "PutUserPermissionsBoundary", "DeleteUserPermissionsBoundary":
		u, err := user()
		if err != nil {
			return nil, err
		}
		if req.action == "PutUserPermissionsBoundary" {
			u.PermissionsBoundary = p["PermissionsBoundary"]
		} else {
			if u.PermissionsBoundary == "" {
				return nil, errNoSuchEntity("The user %s has no permissions boundary.", u.Name)
			}
			u.PermissionsBoundary = ""
		}

	case "TagUser", "ListUserTags":
		if p["UserName"] == "" {
			return nil, errInvalid("UserName is required")
		}
		u, err := user()
		if err != nil {
			return nil, err
		}
		if req.action == "TagUser" {
			if err := tagUser(u, p); err != nil {
				return nil, err
			}
			break
		}
		keys := make([]string, 0, len(u.Tags))
		for k := range u.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys) // "The returned list of tags is sorted by tag key."
		pg, next, err := page(keys, func(s string) string { return s }, s.cursor(req, "Marker"), intParam(p, "MaxItems"), s.st.pageSize, 1000)
		if err != nil {
			return nil, err
		}
		b.open("Tags")
		for _, k := range pg {
			b.open("member")
			b.leaf("Key", k)
			b.leaf("Value", u.Tags[k])
			b.close("member")
		}
		b.close("Tags")
		truncated(next)

	case "GetRole":
		r := findRole(a, p["RoleName"])
		if r == nil {
			return nil, errNoSuchEntity("The role with name %s cannot be found.", p["RoleName"])
		}
		b.open("Role")
		writeRole(&b, part, a.ID, r)
		b.close("Role")

	case "ListRoles":
		rs := append([]*Role(nil), a.Roles...)
		sort.Slice(rs, func(i, j int) bool { return rs[i].Name < rs[j].Name })
		pg, next, err := page(rs, func(r *Role) string { return r.Name }, s.cursor(req, "Marker"), intParam(p, "MaxItems"), s.st.pageSize, 1000)
		if err != nil {
			return nil, err
		}
		b.open("Roles")
		for _, r := range pg {
			b.open("member")
			writeRole(&b, part, a.ID, r)
			b.close("member")
		}
		b.close("Roles")
		truncated(next)

	case "ListAccountAliases":
		b.open("AccountAliases")
		if a.Alias != "" {
			b.leaf("member", a.Alias)
		}
		b.close("AccountAliases")
		b.leaf("IsTruncated", "false")

	default:
		return nil, &apiError{400, "InvalidAction", "IAM action " + req.action + " is not emulated"}
	}
	return queryReply(req, b.String()), nil
}

// maxTagsPerUser is IAM's quota of tags on one user.
const maxTagsPerUser = 50

// tagChars is the pattern of a tag's key and value
// (https://docs.aws.amazon.com/IAM/latest/APIReference/API_Tag.html:
// [\p{L}\p{Z}\p{N}_.:/=+\-@]+, the value may be empty).
var tagChars = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`) })

// tagUser applies TagUser as AWS documents it
// (https://docs.aws.amazon.com/IAM/latest/APIReference/API_TagUser.html and
// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags.html): a tag
// whose key the user already has is overwritten; keys are 1 to 128
// characters and values at most 256, both of API_Tag's characters, and a
// key never starts with the reserved "aws:"; one invalid tag, or more than 50 tags
// on the user, fails the whole request and changes nothing.
func tagUser(u *User, p map[string]string) error {
	tags := map[string]string{}
	for k, v := range u.Tags {
		tags[k] = v
	}
	n := 0
	for ; ; n++ {
		k, ok := p[fmt.Sprintf("Tags.member.%d.Key", n+1)]
		if !ok {
			break
		}
		v := p[fmt.Sprintf("Tags.member.%d.Value", n+1)]
		if k == "" || utf8.RuneCountInString(k) > 128 || utf8.RuneCountInString(v) > 256 {
			return errInvalid("tag %d: the key must be 1 to 128 characters and the value at most 256", n+1)
		}
		if !tagChars().MatchString(k) || !tagChars().MatchString(v) {
			return errInvalid("tag %d: keys and values are letters, digits, white space and _.:/=+-@", n+1)
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return &apiError{400, "InvalidInput", fmt.Sprintf("tag %d: the aws: prefix is reserved for AWS use", n+1)}
		}
		tags[k] = v
	}
	switch {
	case n == 0:
		return errInvalid("Tags is required")
	case len(tags) > maxTagsPerUser:
		return &apiError{409, "LimitExceeded", fmt.Sprintf("The number of tags has reached the maximum limit of %d.", maxTagsPerUser)}
	}
	u.Tags = tags
	return nil
}

// inlineOf returns the inline policy map of the user or role the request names.
func (s *Server) inlineOf(a *Account, req *request) (map[string]string, error) {
	if strings.Contains(req.action, "Role") {
		r := findRole(a, req.params["RoleName"])
		if r == nil {
			return nil, errNoSuchEntity("The role with name %s cannot be found.", req.params["RoleName"])
		}
		if r.InlinePolicies == nil {
			r.InlinePolicies = map[string]string{}
		}
		return r.InlinePolicies, nil
	}
	u := findUser(a, req.params["UserName"])
	if u == nil {
		return nil, errNoSuchEntity("The user with name %s cannot be found.", req.params["UserName"])
	}
	return u.InlinePolicies, nil
}

func writeServiceCred(b *xb, account string, u *User, c *ServiceCred, now time.Time, withSecret bool) {
	alias := u.Name + "-at-" + account
	b.leaf("UserName", u.Name)
	b.leaf("Status", credStatus(c, now))
	b.leaf("ServiceUserName", alias)
	b.leaf("ServiceCredentialAlias", alias)
	b.time("CreateDate", c.Created)
	if c.Expires != nil {
		b.time("ExpirationDate", *c.Expires)
	}
	b.leaf("ServiceSpecificCredentialId", c.ID)
	b.leaf("ServiceName", c.Service)
	if withSecret {
		if c.Service == bedrockService {
			b.leaf("ServiceCredentialSecret", c.Secret)
		} else {
			b.leaf("ServicePassword", c.Secret)
		}
	}
}

// credStatus is Expired once past the expiry, as IAM reports it.
func credStatus(c *ServiceCred, now time.Time) string {
	if c.Expires != nil && !now.Before(*c.Expires) {
		return "Expired"
	}
	return c.Status
}

func writeRole(b *xb, part, account string, r *Role) {
	b.leaf("Path", r.Path)
	b.leaf("RoleName", r.Name)
	b.leaf("RoleId", r.ID)
	b.leaf("Arn", fmt.Sprintf("arn:%s:iam::%s:role%s%s", part, account, r.Path, r.Name))
	b.time("CreateDate", r.Created)
	if r.AssumeRolePolicy != "" {
		b.leaf("AssumeRolePolicyDocument", url.QueryEscape(r.AssumeRolePolicy))
	}
}

func orNA(s string) string {
	if s == "" {
		return "N/A"
	}
	return s
}

// dependents names what still blocks DeleteUser, as IAM's DeleteConflict
// message does ("" when nothing).
func dependents(a *Account, u *User) string {
	switch {
	case len(u.AccessKeys) > 0:
		return "delete access keys"
	case len(u.ServiceCredentials) > 0:
		return "delete service specific credentials"
	case u.LoginProfile != nil:
		return "delete login profile"
	case len(u.MFADevices) > 0:
		return "delete MFA devices"
	case len(u.SigningCertificates) > 0:
		return "delete signing certificates"
	case len(u.SSHPublicKeys) > 0:
		return "delete SSH public keys"
	case len(u.Groups) > 0:
		return "remove user from all groups"
	case len(u.AttachedPolicies) > 0:
		return "detach all policies"
	case len(u.InlinePolicies) > 0:
		return "delete policies"
	}
	return ""
}
