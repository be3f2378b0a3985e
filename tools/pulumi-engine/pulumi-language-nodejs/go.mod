// Builds the Node.js language host (`pulumi-language-nodejs`) at the release matching the
// @pulumi/pulumi npm SDK in package.json.
module agent-fleet/tools/pulumi-engine/pulumi-language-nodejs

go 1.25.11

require (
	github.com/pulumi/pulumi/pkg/v3 v3.248.0
	github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 v3.248.0
	github.com/pulumi/pulumi/sdk/v3 v3.248.0
)

// Replace directives of sdk/nodejs/cmd/pulumi-language-nodejs/go.mod. Upstream also points
// pkg/v3 and sdk/v3 at their directories in the same repository (`=> ../../../../pkg`,
// `=> ../../..`); the published modules of the same release are required above instead.
replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
