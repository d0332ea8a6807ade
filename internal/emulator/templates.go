package emulator

import "strings"

// Make's Apps editor gives every new component templated code (API-NOTES,
// "New Make connections start from templates"), so a connection created
// through the API does not start with empty sections. The existence of
// templates is sourced; their exact text is ASSUMED (the editor's
// templates are not part of the API reference): what matters to syncd is
// that the sections a manifest does not declare are not empty and must be
// left alone, and that a plan compares only declared sections.

// makeAPITemplate is the api section of a new non-OAuth connection.
const makeAPITemplate = `{
	// Request to check the credentials (template).
	"url": "https://www.example.com/api/v1/me",
	"headers": {
		"authorization": "Bearer {{parameters.apiKey}}"
	},
	"log": {
		"sanitize": ["request.headers.authorization"]
	}
}`

// makeOAuthAPITemplate is the api section of a new OAuth connection.
const makeOAuthAPITemplate = `{
	// OAuth 2 flow (template).
	"authorize": {
		"qs": {
			"client_id": "{{ifempty(parameters.clientId, common.clientId)}}",
			"redirect_uri": "{{oauth.redirectUri}}",
			"response_type": "code"
		},
		"url": "https://www.example.com/oauth/authorize",
		"response": {"temp": {"code": "{{query.code}}"}}
	},
	"token": {
		"url": "https://www.example.com/oauth/token",
		"method": "POST",
		"body": {
			"code": "{{temp.code}}",
			"client_id": "{{ifempty(parameters.clientId, common.clientId)}}",
			"client_secret": "{{ifempty(parameters.clientSecret, common.clientSecret)}}",
			"grant_type": "authorization_code",
			"redirect_uri": "{{oauth.redirectUri}}"
		},
		"type": "urlencoded",
		"response": {"data": {"accessToken": "{{body.access_token}}"}},
		"log": {"sanitize": ["request.body.code", "request.body.client_secret", "response.body.access_token"]}
	},
	"info": {
		"url": "https://www.example.com/api/v1/me",
		"headers": {"authorization": "Bearer {{connection.accessToken}}"}
	}
}`

// makeParametersTemplate is the parameters section of a new non-OAuth
// connection.
const makeParametersTemplate = `[
	// Fields the user fills in when connecting (template).
	{
		"name": "apiKey",
		"type": "password",
		"label": "API Key",
		"required": true
	}
]`

// makeOAuthParametersTemplate lets a user bring an own OAuth client.
const makeOAuthParametersTemplate = `[
	{
		"name": "clientId",
		"type": "text",
		"label": "Client ID",
		"advanced": true
	},
	{
		"name": "clientSecret",
		"type": "password",
		"label": "Client Secret",
		"advanced": true
	}
]`

// makeOAuthCommonTemplate is the common data of a new OAuth connection.
func makeOAuthCommonTemplate() map[string]any {
	return map[string]any{"clientId": "", "clientSecret": ""}
}

// applyTemplates fills a just-created connection as the Apps editor does.
func (c *makeConn) applyTemplates() {
	if strings.HasPrefix(c.typ, "oauth") {
		c.sections["api"] = makeOAuthAPITemplate
		c.sections["parameters"] = makeOAuthParametersTemplate
		c.common = makeOAuthCommonTemplate()
		return
	}
	c.sections["api"] = makeAPITemplate
	c.sections["parameters"] = makeParametersTemplate
}
