// Builds the command provider (`pulumi-resource-command`) at the release matching the
// @pulumi/command npm SDK in package.json (pulumi-command v1.2.1, whose Go module lives in
// the repository's provider/ directory).
module agent-fleet/tools/pulumi-engine/pulumi-resource-command

go 1.25.11

require github.com/pulumi/pulumi-command/provider v1.2.1
