
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'kcfed' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'kcfed'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'kcfed' {
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v: kcfed''s debug log and the libraries'' warnings, -vv: trace); without it only kcfed''s own messages')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v: kcfed''s debug log and the libraries'' warnings, -vv: trace); without it only kcfed''s own messages')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Set up the first (primary) cluster of a fleet')
            [CompletionResult]::new('join', 'join', [CompletionResultType]::ParameterValue, 'Add more clusters to an existing fleet')
            [CompletionResult]::new('cleanup', 'cleanup', [CompletionResultType]::ParameterValue, 'Remove clusters, or the whole fleet, and everything kcfed made for them')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show whether every cluster of the fleet is installed and its metrics reach AMP')
            [CompletionResult]::new('render', 'render', [CompletionResultType]::ParameterValue, 'Write every values file, policy and config kcfed would use, offline, to a folder')
            [CompletionResult]::new('dashboard', 'dashboard', [CompletionResultType]::ParameterValue, 'Open a cluster''s Kubecost UI on a local port (the fleet''s primary by default), through kcfed''s own access to the cluster; Ctrl-C stops it')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to stdout')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff) to stdout; packagers install it as kcfed.1')
            [CompletionResult]::new('eks-token', 'eks-token', [CompletionResultType]::ParameterValue, 'Print an EKS token as a Kubernetes credential plugin (the kubeconfigs kcfed writes for clusters it reaches directly run it)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kcfed;init' {
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v: kcfed''s debug log and the libraries'' warnings, -vv: trace); without it only kcfed''s own messages')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v: kcfed''s debug log and the libraries'' warnings, -vv: trace); without it only kcfed''s own messages')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('primary', 'primary', [CompletionResultType]::ParameterValue, 'Create or reuse the AMP workspace, S3 bucket, IAM roles and Kubernetes objects, then install Kubecost on the primary cluster')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kcfed;init;primary' {
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'EKS cluster name, or its ARN when it is in another account or region (defaults to the cluster of the current kube context, when that is an EKS ARN)')
            [CompletionResult]::new('--cluster-id', '--cluster-id', [CompletionResultType]::ParameterName, 'The cluster''s id in the fleet''s data (cluster_id in AMP, its federated ETL prefix, its name in Kubecost): a DNS label, unique in the fleet (default: the cluster''s name, or NAME-REGION[-ACCOUNT] when another cluster of the fleet has that name). Kept for life')
            [CompletionResult]::new('--kube-context', '--kube-context', [CompletionResultType]::ParameterName, 'Kube context of the cluster (defaults to the context whose cluster is this EKS cluster)')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'How the fleet''s pods get AWS credentials: pod-identity (roles shared by every cluster, no OIDC provider; chart 2.4.3 or later and the eks-pod-identity-agent add-on) or irsa (an OIDC provider and two roles per cluster). Default: the fleet''s mode; for a new fleet, pod-identity where its chart can use it, else irsa')
            [CompletionResult]::new('--workspace-id', '--workspace-id', [CompletionResultType]::ParameterName, 'Use the AMP workspace with this id (ws-...)')
            [CompletionResult]::new('--workspace-region', '--workspace-region', [CompletionResultType]::ParameterName, 'The fleet''s region when it differs from the cluster''s: its AMP workspace''s, and the one in the default bucket''s name')
            [CompletionResult]::new('--fleet-region', '--fleet-region', [CompletionResultType]::ParameterName, 'The fleet''s region when it differs from the cluster''s: its AMP workspace''s, and the one in the default bucket''s name')
            [CompletionResult]::new('--bucket', '--bucket', [CompletionResultType]::ParameterName, 'The fleet''s S3 bucket for federated files (default: kcfed-ACCOUNT-REGION-kubecost-etl in the fleet''s region). A fleet without an AMP workspace is found by it')
            [CompletionResult]::new('--cloud-integration-secret', '--cloud-integration-secret', [CompletionResultType]::ParameterName, 'Turn on Kubecost''s Cloud Costs view with your cloud integration secret of this name (in --namespace, made as Kubecost''s cloud integration guide says); kcfed checks it exists')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace for Kubecost and its service accounts')
            [CompletionResult]::new('--release', '--release', [CompletionResultType]::ParameterName, 'Helm release name')
            [CompletionResult]::new('--chart', '--chart', [CompletionResultType]::ParameterName, 'The Kubecost chart: an OCI reference, REPO/NAME of an added Helm repository, or a packaged chart''s path (a registry mirror, or an air-gapped copy) [default: oci://public.ecr.aws/kubecost/cost-analyzer for 1.x and 2.x, oci://public.ecr.aws/kubecost/kubecost for 3.x]')
            [CompletionResult]::new('--chart-version', '--chart-version', [CompletionResultType]::ParameterName, 'Version of the Kubecost chart to install: 1.103-1.108, 2.4-2.8 (README, "Kubecost 2.x"), 2.9 (the step to 3.x, README, "Moving to Kubecost 3") or 3.0-3.2 (README, "Kubecost 3") [default: the version the cluster''s release runs; for a new release, the fleet''s (the primary''s); for a new fleet, 3.2.1 (2.8.7 with --quick-start)]')
            [CompletionResult]::new('--storage-class', '--storage-class', [CompletionResultType]::ParameterName, 'StorageClass for every volume the chart makes (default: the cluster''s default class); kcfed checks that it exists')
            [CompletionResult]::new('--values', '--values', [CompletionResultType]::ParameterName, 'Your own values file for the chart (repeat for several, later files winning, as helm''s -f): applied after kcfed''s EKS defaults; the settings the fleet depends on (AMP, SigV4, cluster_id, service accounts, federated storage) stay kcfed''s, and the plan names any your files try to change')
            [CompletionResult]::new('--helm', '--helm', [CompletionResultType]::ParameterName, 'Path to the helm binary (defaults to `helm` on PATH)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the workspace to become active and for helm (`90s`, `10m`, `1h30m`, as helm writes durations; a bare number is seconds)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Named profile from the AWS config files: its credentials, also over AWS_ACCESS_KEY_ID (AWS_PROFILE, read by the SDK itself, does not outrank those keys, as in the aws CLI)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'The fleet''s AWS region: where its workspace is looked for (unless --workspace-region) and where clusters named without an ARN are (defaults to AWS_REGION or the profile''s)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Send every AWS API call to this endpoint instead of the public one (VPC endpoints, proxies)')
            [CompletionResult]::new('--account-profile', '--account-profile', [CompletionResultType]::ParameterName, 'A profile of the AWS config files that acts in ACCOUNT (role_arn with source_profile, SSO, credential_process, ...), for that account''s clusters; repeat for several accounts')
            [CompletionResult]::new('--account-role', '--account-role', [CompletionResultType]::ParameterName, 'A role kcfed assumes, with its own credentials, in every other account it has no --account-profile for: arn:aws:iam::ACCOUNT:role/ROLE_NAME (AWS Organizations create OrganizationAccountAccessRole)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig file to read (defaults to KUBECONFIG or ~/.kube/config)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format for the plan and the report')
            [CompletionResult]::new('--workspace-alias', '--workspace-alias', [CompletionResultType]::ParameterName, 'The fleet''s AMP workspace: the one with exactly this alias, created when there is none (default kubecost-amp)')
            [CompletionResult]::new('--quick-start', '--quick-start', [CompletionResultType]::ParameterName, 'Skip the federated ETL bucket: metrics go to AMP only (fine for a few clusters)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and stop; nothing is changed')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Apply the plan without asking (required when not on a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Apply the plan without asking (required when not on a terminal)')
            [CompletionResult]::new('--detailed-exitcode', '--detailed-exitcode', [CompletionResultType]::ParameterName, 'Exit with 5 instead of 0 when the run succeeded and nothing needed to change (for pipelines that act on changes)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v: kcfed''s debug log and the libraries'' warnings, -vv: trace); without it only kcfed''s own messages')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v: kcfed''s debug log and the libraries'' warnings, -vv: trace); without it only kcfed''s own messages')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kcfed;init;help' {
            [CompletionResult]::new('primary', 'primary', [CompletionResultType]::ParameterValue, 'Create or reuse the AMP workspace, S3 bucket, IAM roles and Kubernetes objects, then install Kubecost on the primary cluster')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kcfed;init;help;primary' {
            break
        }
        'kcfed;init;help;help' {
            break
        }
        'kcfed;join' {
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v: kcfed''s debug log and the libraries'' warnings, -vv: trace); without it only kcfed''s own messages')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v: kcfed''s debug log and the libraries'' warnings, -vv: trace); without it only kcfed''s own messages')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('cluster', 'cluster', [CompletionResultType]::ParameterValue, 'Join one or more clusters to the fleet as agents that write to the primary''s workspace and bucket')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kcfed;join;cluster' {
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'EKS cluster to join (repeat for several)')
            [CompletionResult]::new('--cluster-id', '--cluster-id', [CompletionResultType]::ParameterName, 'The id of each --cluster in the fleet''s data, in the same order (cluster_id in AMP, its federated ETL prefix, its name in Kubecost): DNS labels, unique in the fleet (default: the cluster''s name, or NAME-REGION[-ACCOUNT] when another cluster has that name)')
            [CompletionResult]::new('--kube-context', '--kube-context', [CompletionResultType]::ParameterName, 'Kube context for each --cluster, in the same order (found automatically when omitted)')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'The fleet''s identity mode (pod-identity or irsa): accepted when it is the fleet''s, which every cluster follows (`init primary --identity` changes it)')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'How many clusters join at the same time (each runs its own helm install)')
            [CompletionResult]::new('--workspace-id', '--workspace-id', [CompletionResultType]::ParameterName, 'Use the AMP workspace with this id (ws-...)')
            [CompletionResult]::new('--workspace-alias', '--workspace-alias', [CompletionResultType]::ParameterName, 'The fleet''s AMP workspace: the one with exactly this alias (default kubecost-amp)')
            [CompletionResult]::new('--workspace-region', '--workspace-region', [CompletionResultType]::ParameterName, 'The fleet''s region when it differs from the cluster''s: its AMP workspace''s, and the one in the default bucket''s name')
            [CompletionResult]::new('--fleet-region', '--fleet-region', [CompletionResultType]::ParameterName, 'The fleet''s region when it differs from the cluster''s: its AMP workspace''s, and the one in the default bucket''s name')
            [CompletionResult]::new('--bucket', '--bucket', [CompletionResultType]::ParameterName, 'The fleet''s S3 bucket for federated files (default: kcfed-ACCOUNT-REGION-kubecost-etl in the fleet''s region). A fleet without an AMP workspace is found by it')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace for Kubecost and its service accounts')
            [CompletionResult]::new('--release', '--release', [CompletionResultType]::ParameterName, 'Helm release name')
            [CompletionResult]::new('--chart', '--chart', [CompletionResultType]::ParameterName, 'The Kubecost chart: an OCI reference, REPO/NAME of an added Helm repository, or a packaged chart''s path (a registry mirror, or an air-gapped copy) [default: oci://public.ecr.aws/kubecost/cost-analyzer for 1.x and 2.x, oci://public.ecr.aws/kubecost/kubecost for 3.x]')
            [CompletionResult]::new('--chart-version', '--chart-version', [CompletionResultType]::ParameterName, 'Version of the Kubecost chart to install: 1.103-1.108, 2.4-2.8 (README, "Kubecost 2.x"), 2.9 (the step to 3.x, README, "Moving to Kubecost 3") or 3.0-3.2 (README, "Kubecost 3") [default: the version the cluster''s release runs; for a new release, the fleet''s (the primary''s); for a new fleet, 3.2.1 (2.8.7 with --quick-start)]')
            [CompletionResult]::new('--storage-class', '--storage-class', [CompletionResultType]::ParameterName, 'StorageClass for every volume the chart makes (default: the cluster''s default class); kcfed checks that it exists')
            [CompletionResult]::new('--values', '--values', [CompletionResultType]::ParameterName, 'Your own values file for the chart (repeat for several, later files winning, as helm''s -f): applied after kcfed''s EKS defaults; the settings the fleet depends on (AMP, SigV4, cluster_id, service accounts, federated storage) stay kcfed''s, and the plan names any your files try to change')
            [CompletionResult]::new('--helm', '--helm', [CompletionResultType]::ParameterName, 'Path to the helm binary (defaults to `helm` on PATH)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the workspace to become active and for helm (`90s`, `10m`, `1h30m`, as helm writes durations; a bare number is seconds)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Named profile from the AWS config files: its credentials, also over AWS_ACCESS_KEY_ID (AWS_PROFILE, read by the SDK itself, does not outrank those keys, as in the aws CLI)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'The fleet''s AWS region: where its workspace is looked for (unless --workspace-region) and where clusters named without an ARN are (defaults to AWS_REGION or the profile''s)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Send every AWS API call to this endpoint instead of the public one (VPC endpoints, proxies)')
            [CompletionResult]::new('--account-profile', '--account-profile', [CompletionResultType]::ParameterName, 'A profile of the AWS config files that acts in ACCOUNT (role_arn with source_profile, SSO, credential_process, ...), for that account''s clusters; repeat for several accounts')
            [CompletionResult]::new('--account-role', '--account-role', [CompletionResultType]::ParameterName, 'A role kcfed assumes, with its own credentials, in every other account it has no --account-profile for: arn:aws:iam::ACCOUNT:role/ROLE_NAME (AWS Organizations create OrganizationAccountAccessRole)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig file to read (defaults to KUBECONFIG or ~/.kube/config)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format for the plan and the report')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and stop; nothing is changed')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Apply the plan without asking (required when not on a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Apply the plan without asking (required when not on a terminal)')
            [CompletionResult]::new('--detailed-exitcode', '--detailed-exitcode', [CompletionResultType]::ParameterName, 'Exit with 5 instead of 0 when the run succeeded and nothing needed to change (for pipelines that act on changes)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v: kcfed''s debug log and the libraries'' warnings, -vv: trace); without it only kcfed''s own messages')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v: kcfed''s debug log and the libraries'' warnings, -vv: trace); without it only kcfed''s own messages')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kcfed;join;help' {
            [CompletionResult]::new('cluster', 'cluster', [CompletionResultType]::ParameterValue, 'Join one or more clusters to the fleet as agents that write to the primary''s workspace and bucket')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kcfed;join;help;cluster' {
            break
        }
        'kcfed;join;help;help' {
            break
        }
        'kcfed;cleanup' {
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Remove this cluster from the fleet (repeat for several)')
            [CompletionResult]::new('--kube-context', '--kube-context', [CompletionResultType]::ParameterName, 'Kube context for each --cluster, in the same order (found automatically when omitted)')
            [CompletionResult]::new('--workspace-id', '--workspace-id', [CompletionResultType]::ParameterName, 'Use the AMP workspace with this id (ws-...)')
            [CompletionResult]::new('--workspace-alias', '--workspace-alias', [CompletionResultType]::ParameterName, 'The fleet''s AMP workspace: the one with exactly this alias (default kubecost-amp)')
            [CompletionResult]::new('--workspace-region', '--workspace-region', [CompletionResultType]::ParameterName, 'The fleet''s region when it differs from the cluster''s: its AMP workspace''s, and the one in the default bucket''s name')
            [CompletionResult]::new('--fleet-region', '--fleet-region', [CompletionResultType]::ParameterName, 'The fleet''s region when it differs from the cluster''s: its AMP workspace''s, and the one in the default bucket''s name')
            [CompletionResult]::new('--bucket', '--bucket', [CompletionResultType]::ParameterName, 'The fleet''s S3 bucket for federated files (default: kcfed-ACCOUNT-REGION-kubecost-etl in the fleet''s region). A fleet without an AMP workspace is found by it')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace of Kubecost''s release and of the objects kcfed made')
            [CompletionResult]::new('--release', '--release', [CompletionResultType]::ParameterName, 'Helm release name')
            [CompletionResult]::new('--helm', '--helm', [CompletionResultType]::ParameterName, 'Path to the helm binary (defaults to `helm` on PATH)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long helm waits for the uninstall (`90s`, `10m`; a bare number is seconds)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Named profile from the AWS config files: its credentials, also over AWS_ACCESS_KEY_ID (AWS_PROFILE, read by the SDK itself, does not outrank those keys, as in the aws CLI)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'The fleet''s AWS region: where its workspace is looked for (unless --workspace-region) and where clusters named without an ARN are (defaults to AWS_REGION or the profile''s)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Send every AWS API call to this endpoint instead of the public one (VPC endpoints, proxies)')
            [CompletionResult]::new('--account-profile', '--account-profile', [CompletionResultType]::ParameterName, 'A profile of the AWS config files that acts in ACCOUNT (role_arn with source_profile, SSO, credential_process, ...), for that account''s clusters; repeat for several accounts')
            [CompletionResult]::new('--account-role', '--account-role', [CompletionResultType]::ParameterName, 'A role kcfed assumes, with its own credentials, in every other account it has no --account-profile for: arn:aws:iam::ACCOUNT:role/ROLE_NAME (AWS Organizations create OrganizationAccountAccessRole)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig file to read (defaults to KUBECONFIG or ~/.kube/config)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format for the plan and the report')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Remove every cluster of the fleet, then the shared bucket, policies and workspace')
            [CompletionResult]::new('--amp-workspace', '--amp-workspace', [CompletionResultType]::ParameterName, 'Remove only the fleet''s AMP workspace, with the metrics in it, and AMP''s IAM policies, once every cluster runs Kubecost 3; the fleet keeps the rest and is found by its bucket')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Stop when a cluster''s Kubernetes API cannot be reached instead of skipping it')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and stop; nothing is changed')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Apply the plan without asking (required when not on a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Apply the plan without asking (required when not on a terminal)')
            [CompletionResult]::new('--detailed-exitcode', '--detailed-exitcode', [CompletionResultType]::ParameterName, 'Exit with 5 instead of 0 when the run succeeded and nothing needed to change (for pipelines that act on changes)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v: kcfed''s debug log and the libraries'' warnings, -vv: trace); without it only kcfed''s own messages')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v: kcfed''s debug log and the libraries'' warnings, -vv: trace); without it only kcfed''s own messages')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kcfed;status' {
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Show only this cluster of the fleet (repeat for several; default: every cluster)')
            [CompletionResult]::new('--kube-context', '--kube-context', [CompletionResultType]::ParameterName, 'Kube context for each --cluster, in the same order (found automatically when omitted)')
            [CompletionResult]::new('--max-age', '--max-age', [CompletionResultType]::ParameterName, 'A cluster reports when AMP holds metrics of it at most this old (`90s`, `10m`, `2h`). Kubecost''s Prometheus scrapes every minute and remote-writes within seconds, so ten minutes tolerates a few missed scrapes and retried writes but not an outage')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'How many clusters are read at the same time')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace of Kubecost''s release')
            [CompletionResult]::new('--release', '--release', [CompletionResultType]::ParameterName, 'Helm release name')
            [CompletionResult]::new('--helm', '--helm', [CompletionResultType]::ParameterName, 'Path to the helm binary (defaults to `helm` on PATH)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--workspace-id', '--workspace-id', [CompletionResultType]::ParameterName, 'Use the AMP workspace with this id (ws-...)')
            [CompletionResult]::new('--workspace-alias', '--workspace-alias', [CompletionResultType]::ParameterName, 'The fleet''s AMP workspace: the one with exactly this alias (default kubecost-amp)')
            [CompletionResult]::new('--workspace-region', '--workspace-region', [CompletionResultType]::ParameterName, 'The fleet''s region when it differs from the cluster''s: its AMP workspace''s, and the one in the default bucket''s name')
            [CompletionResult]::new('--fleet-region', '--fleet-region', [CompletionResultType]::ParameterName, 'The fleet''s region when it differs from the cluster''s: its AMP workspace''s, and the one in the default bucket''s name')
            [CompletionResult]::new('--bucket', '--bucket', [CompletionResultType]::ParameterName, 'The fleet''s S3 bucket for federated files (default: kcfed-ACCOUNT-REGION-kubecost-etl in the fleet''s region). A fleet without an AMP workspace is found by it')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Named profile from the AWS config files: its credentials, also over AWS_ACCESS_KEY_ID (AWS_PROFILE, read by the SDK itself, does not outrank those keys, as in the aws CLI)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'The fleet''s AWS region: where its workspace is looked for (unless --workspace-region) and where clusters named without an ARN are (defaults to AWS_REGION or the profile''s)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Send every AWS API call to this endpoint instead of the public one (VPC endpoints, proxies)')
            [CompletionResult]::new('--account-profile', '--account-profile', [CompletionResultType]::ParameterName, 'A profile of the AWS config files that acts in ACCOUNT (role_arn with source_profile, SSO, credential_process, ...), for that account''s clusters; repeat for several accounts')
            [CompletionResult]::new('--account-role', '--account-role', [CompletionResultType]::ParameterName, 'A role kcfed assumes, with its own credentials, in every other account it has no --account-profile for: arn:aws:iam::ACCOUNT:role/ROLE_NAME (AWS Organizations create OrganizationAccountAccessRole)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig file to read (defaults to KUBECONFIG or ~/.kube/config)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v: kcfed''s debug log and the libraries'' warnings, -vv: trace); without it only kcfed''s own messages')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v: kcfed''s debug log and the libraries'' warnings, -vv: trace); without it only kcfed''s own messages')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kcfed;render' {
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Render for the primary cluster or for an agent')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'EKS cluster name, or its ARN (which gives its region, and its account when that is not the fleet''s)')
            [CompletionResult]::new('--cluster-id', '--cluster-id', [CompletionResultType]::ParameterName, 'The cluster''s id in the fleet''s data (cluster_id, federated ETL prefix, its name in Kubecost): a DNS label, unique in the fleet (default: the cluster''s name)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region of the cluster (required unless --cluster is an ARN)')
            [CompletionResult]::new('--account-id', '--account-id', [CompletionResultType]::ParameterName, 'The fleet''s AWS account id (12 digits): the workspace''s, the bucket''s and the roles''')
            [CompletionResult]::new('--workspace-id', '--workspace-id', [CompletionResultType]::ParameterName, 'The fleet''s AMP workspace id (ws-...): needed for a chart that writes to AMP (1.x, 2.x, 2.9); a Kubecost 3 fleet made without one has none')
            [CompletionResult]::new('--workspace-region', '--workspace-region', [CompletionResultType]::ParameterName, 'Region of the AMP workspace (defaults to --region)')
            [CompletionResult]::new('--bucket', '--bucket', [CompletionResultType]::ParameterName, 'S3 bucket for federated ETL files (default: one name per account and region)')
            [CompletionResult]::new('--bucket-region', '--bucket-region', [CompletionResultType]::ParameterName, 'Region of the bucket (defaults to --region; for an agent, give the primary''s bucket region)')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'The fleet''s identity mode: pod-identity or irsa (default: pod-identity where the chart can use it, else irsa, as for a new fleet)')
            [CompletionResult]::new('--oidc-issuer', '--oidc-issuer', [CompletionResultType]::ParameterName, 'Issuer URL of the cluster''s OIDC provider, for the trust policies (placeholder when omitted)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace for Kubecost and its service accounts')
            [CompletionResult]::new('--release', '--release', [CompletionResultType]::ParameterName, 'Helm release name')
            [CompletionResult]::new('--chart', '--chart', [CompletionResultType]::ParameterName, 'The Kubecost chart: an OCI reference, REPO/NAME of an added Helm repository, or a packaged chart''s path (a registry mirror, or an air-gapped copy) [default: oci://public.ecr.aws/kubecost/cost-analyzer for 1.x and 2.x, oci://public.ecr.aws/kubecost/kubecost for 3.x]')
            [CompletionResult]::new('--chart-version', '--chart-version', [CompletionResultType]::ParameterName, 'Version of the Kubecost chart to install: 1.103-1.108, 2.4-2.8 (README, "Kubecost 2.x"), 2.9 (the step to 3.x, README, "Moving to Kubecost 3") or 3.0-3.2 (README, "Kubecost 3") [default: the version the cluster''s release runs; for a new release, the fleet''s (the primary''s); for a new fleet, 3.2.1 (2.8.7 with --quick-start)]')
            [CompletionResult]::new('--storage-class', '--storage-class', [CompletionResultType]::ParameterName, 'StorageClass for every volume the chart makes (default: the cluster''s default class); kcfed checks that it exists')
            [CompletionResult]::new('--values', '--values', [CompletionResultType]::ParameterName, 'Your own values file for the chart (repeat for several, later files winning, as helm''s -f): applied after kcfed''s EKS defaults; the settings the fleet depends on (AMP, SigV4, cluster_id, service accounts, federated storage) stay kcfed''s, and the plan names any your files try to change')
            [CompletionResult]::new('--cloud-integration-secret', '--cloud-integration-secret', [CompletionResultType]::ParameterName, 'Turn on Kubecost''s Cloud Costs view with the cloud integration secret of this name')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Folder to write the files to (created when missing)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format for the summary')
            [CompletionResult]::new('--quick-start', '--quick-start', [CompletionResultType]::ParameterName, 'Skip the federated ETL bucket: metrics go to AMP only')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v: kcfed''s debug log and the libraries'' warnings, -vv: trace); without it only kcfed''s own messages')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v: kcfed''s debug log and the libraries'' warnings, -vv: trace); without it only kcfed''s own messages')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kcfed;dashboard' {
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'The cluster whose UI to open: a name, an ARN or a cluster id of the fleet (default: the fleet''s primary)')
            [CompletionResult]::new('--kube-context', '--kube-context', [CompletionResultType]::ParameterName, 'Kube context of the cluster (found automatically when omitted)')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port on localhost the UI is served on (0 picks a free one)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace of Kubecost''s release')
            [CompletionResult]::new('--release', '--release', [CompletionResultType]::ParameterName, 'Helm release name')
            [CompletionResult]::new('--workspace-id', '--workspace-id', [CompletionResultType]::ParameterName, 'Use the AMP workspace with this id (ws-...)')
            [CompletionResult]::new('--workspace-alias', '--workspace-alias', [CompletionResultType]::ParameterName, 'The fleet''s AMP workspace: the one with exactly this alias (default kubecost-amp)')
            [CompletionResult]::new('--workspace-region', '--workspace-region', [CompletionResultType]::ParameterName, 'The fleet''s region when it differs from the cluster''s: its AMP workspace''s, and the one in the default bucket''s name')
            [CompletionResult]::new('--fleet-region', '--fleet-region', [CompletionResultType]::ParameterName, 'The fleet''s region when it differs from the cluster''s: its AMP workspace''s, and the one in the default bucket''s name')
            [CompletionResult]::new('--bucket', '--bucket', [CompletionResultType]::ParameterName, 'The fleet''s S3 bucket for federated files (default: kcfed-ACCOUNT-REGION-kubecost-etl in the fleet''s region). A fleet without an AMP workspace is found by it')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Named profile from the AWS config files: its credentials, also over AWS_ACCESS_KEY_ID (AWS_PROFILE, read by the SDK itself, does not outrank those keys, as in the aws CLI)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'The fleet''s AWS region: where its workspace is looked for (unless --workspace-region) and where clusters named without an ARN are (defaults to AWS_REGION or the profile''s)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Send every AWS API call to this endpoint instead of the public one (VPC endpoints, proxies)')
            [CompletionResult]::new('--account-profile', '--account-profile', [CompletionResultType]::ParameterName, 'A profile of the AWS config files that acts in ACCOUNT (role_arn with source_profile, SSO, credential_process, ...), for that account''s clusters; repeat for several accounts')
            [CompletionResult]::new('--account-role', '--account-role', [CompletionResultType]::ParameterName, 'A role kcfed assumes, with its own credentials, in every other account it has no --account-profile for: arn:aws:iam::ACCOUNT:role/ROLE_NAME (AWS Organizations create OrganizationAccountAccessRole)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig file to read (defaults to KUBECONFIG or ~/.kube/config)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v: kcfed''s debug log and the libraries'' warnings, -vv: trace); without it only kcfed''s own messages')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v: kcfed''s debug log and the libraries'' warnings, -vv: trace); without it only kcfed''s own messages')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kcfed;completions' {
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v: kcfed''s debug log and the libraries'' warnings, -vv: trace); without it only kcfed''s own messages')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v: kcfed''s debug log and the libraries'' warnings, -vv: trace); without it only kcfed''s own messages')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kcfed;man' {
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v: kcfed''s debug log and the libraries'' warnings, -vv: trace); without it only kcfed''s own messages')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v: kcfed''s debug log and the libraries'' warnings, -vv: trace); without it only kcfed''s own messages')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kcfed;eks-token' {
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'The EKS cluster''s name; --region is its region')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Named profile from the AWS config files: its credentials, also over AWS_ACCESS_KEY_ID (AWS_PROFILE, read by the SDK itself, does not outrank those keys, as in the aws CLI)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'The fleet''s AWS region: where its workspace is looked for (unless --workspace-region) and where clusters named without an ARN are (defaults to AWS_REGION or the profile''s)')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Send every AWS API call to this endpoint instead of the public one (VPC endpoints, proxies)')
            [CompletionResult]::new('--access-profile', '--access-profile', [CompletionResultType]::ParameterName, 'The cluster''s account is reached with this profile of the AWS config files')
            [CompletionResult]::new('--access-role', '--access-role', [CompletionResultType]::ParameterName, 'The cluster''s account is reached by assuming this role')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v: kcfed''s debug log and the libraries'' warnings, -vv: trace); without it only kcfed''s own messages')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v: kcfed''s debug log and the libraries'' warnings, -vv: trace); without it only kcfed''s own messages')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kcfed;help' {
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Set up the first (primary) cluster of a fleet')
            [CompletionResult]::new('join', 'join', [CompletionResultType]::ParameterValue, 'Add more clusters to an existing fleet')
            [CompletionResult]::new('cleanup', 'cleanup', [CompletionResultType]::ParameterValue, 'Remove clusters, or the whole fleet, and everything kcfed made for them')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show whether every cluster of the fleet is installed and its metrics reach AMP')
            [CompletionResult]::new('render', 'render', [CompletionResultType]::ParameterValue, 'Write every values file, policy and config kcfed would use, offline, to a folder')
            [CompletionResult]::new('dashboard', 'dashboard', [CompletionResultType]::ParameterValue, 'Open a cluster''s Kubecost UI on a local port (the fleet''s primary by default), through kcfed''s own access to the cluster; Ctrl-C stops it')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to stdout')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff) to stdout; packagers install it as kcfed.1')
            [CompletionResult]::new('eks-token', 'eks-token', [CompletionResultType]::ParameterValue, 'Print an EKS token as a Kubernetes credential plugin (the kubeconfigs kcfed writes for clusters it reaches directly run it)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kcfed;help;init' {
            [CompletionResult]::new('primary', 'primary', [CompletionResultType]::ParameterValue, 'Create or reuse the AMP workspace, S3 bucket, IAM roles and Kubernetes objects, then install Kubecost on the primary cluster')
            break
        }
        'kcfed;help;init;primary' {
            break
        }
        'kcfed;help;join' {
            [CompletionResult]::new('cluster', 'cluster', [CompletionResultType]::ParameterValue, 'Join one or more clusters to the fleet as agents that write to the primary''s workspace and bucket')
            break
        }
        'kcfed;help;join;cluster' {
            break
        }
        'kcfed;help;cleanup' {
            break
        }
        'kcfed;help;status' {
            break
        }
        'kcfed;help;render' {
            break
        }
        'kcfed;help;dashboard' {
            break
        }
        'kcfed;help;completions' {
            break
        }
        'kcfed;help;man' {
            break
        }
        'kcfed;help;eks-token' {
            break
        }
        'kcfed;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
