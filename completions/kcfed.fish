# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_kcfed_global_optspecs
    string join \n v/verbose h/help V/version
end

function __fish_kcfed_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_kcfed_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_kcfed_using_subcommand
    set -l cmd (__fish_kcfed_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c kcfed -n "__fish_kcfed_needs_command" -s v -l verbose -d 'Log more detail to stderr (-v: kcfed\'s debug log and the libraries\' warnings, -vv: trace); without it only kcfed\'s own messages'
complete -c kcfed -n "__fish_kcfed_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kcfed -n "__fish_kcfed_needs_command" -s V -l version -d 'Print version'
complete -c kcfed -n "__fish_kcfed_needs_command" -f -a "init" -d 'Set up the first (primary) cluster of a fleet'
complete -c kcfed -n "__fish_kcfed_needs_command" -f -a "join" -d 'Add more clusters to an existing fleet'
complete -c kcfed -n "__fish_kcfed_needs_command" -f -a "cleanup" -d 'Remove clusters, or the whole fleet, and everything kcfed made for them'
complete -c kcfed -n "__fish_kcfed_needs_command" -f -a "status" -d 'Show whether every cluster of the fleet is installed and its metrics reach AMP'
complete -c kcfed -n "__fish_kcfed_needs_command" -f -a "render" -d 'Write every values file, policy and config kcfed would use, offline, to a folder'
complete -c kcfed -n "__fish_kcfed_needs_command" -f -a "dashboard" -d 'Open a cluster\'s Kubecost UI on a local port (the fleet\'s primary by default), through kcfed\'s own access to the cluster; Ctrl-C stops it'
complete -c kcfed -n "__fish_kcfed_needs_command" -f -a "completions" -d 'Print a shell completion script to stdout'
complete -c kcfed -n "__fish_kcfed_needs_command" -f -a "man" -d 'Print the man page (roff) to stdout; packagers install it as kcfed.1'
complete -c kcfed -n "__fish_kcfed_needs_command" -f -a "eks-token" -d 'Print an EKS token as a Kubernetes credential plugin (the kubeconfigs kcfed writes for clusters it reaches directly run it)'
complete -c kcfed -n "__fish_kcfed_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and not __fish_seen_subcommand_from primary help" -s v -l verbose -d 'Log more detail to stderr (-v: kcfed\'s debug log and the libraries\' warnings, -vv: trace); without it only kcfed\'s own messages'
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and not __fish_seen_subcommand_from primary help" -s h -l help -d 'Print help'
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and not __fish_seen_subcommand_from primary help" -s V -l version -d 'Print version'
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and not __fish_seen_subcommand_from primary help" -f -a "primary" -d 'Create or reuse the AMP workspace, S3 bucket, IAM roles and Kubernetes objects, then install Kubecost on the primary cluster'
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and not __fish_seen_subcommand_from primary help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -l cluster -d 'EKS cluster name, or its ARN when it is in another account or region (defaults to the cluster of the current kube context, when that is an EKS ARN)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -l cluster-id -d 'The cluster\'s id in the fleet\'s data (cluster_id in AMP, its federated ETL prefix, its name in Kubecost): a DNS label, unique in the fleet (default: the cluster\'s name, or NAME-REGION[-ACCOUNT] when another cluster of the fleet has that name). Kept for life' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -l kube-context -d 'Kube context of the cluster (defaults to the context whose cluster is this EKS cluster)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -l identity -d 'How the fleet\'s pods get AWS credentials: pod-identity (roles shared by every cluster, no OIDC provider; chart 2.4.3 or later and the eks-pod-identity-agent add-on) or irsa (an OIDC provider and two roles per cluster). Default: the fleet\'s mode; for a new fleet, pod-identity where its chart can use it, else irsa' -r -f -a "pod-identity\t'EKS Pod Identity: roles shared by every cluster, no OIDC provider (chart 2.4.3 or later)'
irsa\t'IAM roles for service accounts: an OIDC provider and two roles per cluster'"
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -l workspace-id -d 'Use the AMP workspace with this id (ws-...)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -l workspace-region -l fleet-region -d 'The fleet\'s region when it differs from the cluster\'s: its AMP workspace\'s, and the one in the default bucket\'s name' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -l bucket -d 'The fleet\'s S3 bucket for federated files (default: kcfed-ACCOUNT-REGION-kubecost-etl in the fleet\'s region). A fleet without an AMP workspace is found by it' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -l cloud-integration-secret -d 'Turn on Kubecost\'s Cloud Costs view with your cloud integration secret of this name (in --namespace, made as Kubecost\'s cloud integration guide says); kcfed checks it exists' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -l namespace -d 'Namespace for Kubecost and its service accounts' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -l release -d 'Helm release name' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -l chart -d 'The Kubecost chart: an OCI reference, REPO/NAME of an added Helm repository, or a packaged chart\'s path (a registry mirror, or an air-gapped copy) [default: oci://public.ecr.aws/kubecost/cost-analyzer for 1.x and 2.x, oci://public.ecr.aws/kubecost/kubecost for 3.x]' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -l chart-version -d 'Version of the Kubecost chart to install: 1.103-1.108, 2.4-2.8 (README, "Kubecost 2.x"), 2.9 (the step to 3.x, README, "Moving to Kubecost 3") or 3.0-3.2 (README, "Kubecost 3") [default: the version the cluster\'s release runs; for a new release, the fleet\'s (the primary\'s); for a new fleet, 3.2.1 (2.8.7 with --quick-start)]' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -l storage-class -d 'StorageClass for every volume the chart makes (default: the cluster\'s default class); kcfed checks that it exists' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -l values -d 'Your own values file for the chart (repeat for several, later files winning, as helm\'s -f): applied after kcfed\'s EKS defaults; the settings the fleet depends on (AMP, SigV4, cluster_id, service accounts, federated storage) stay kcfed\'s, and the plan names any your files try to change' -r -F
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -l helm -d 'Path to the helm binary (defaults to `helm` on PATH)' -r -F
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -l timeout -d 'How long to wait for the workspace to become active and for helm (`90s`, `10m`, `1h30m`, as helm writes durations; a bare number is seconds)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -l profile -d 'Named profile from the AWS config files: its credentials, also over AWS_ACCESS_KEY_ID (AWS_PROFILE, read by the SDK itself, does not outrank those keys, as in the aws CLI)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -l region -d 'The fleet\'s AWS region: where its workspace is looked for (unless --workspace-region) and where clusters named without an ARN are (defaults to AWS_REGION or the profile\'s)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -l endpoint-url -d 'Send every AWS API call to this endpoint instead of the public one (VPC endpoints, proxies)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -l account-profile -d 'A profile of the AWS config files that acts in ACCOUNT (role_arn with source_profile, SSO, credential_process, ...), for that account\'s clusters; repeat for several accounts' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -l account-role -d 'A role kcfed assumes, with its own credentials, in every other account it has no --account-profile for: arn:aws:iam::ACCOUNT:role/ROLE_NAME (AWS Organizations create OrganizationAccountAccessRole)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -l kubeconfig -d 'Kubeconfig file to read (defaults to KUBECONFIG or ~/.kube/config)' -r -F
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -l output -d 'Output format for the plan and the report' -r -f -a "text\t'Human-readable text'
json\t'One JSON document, for pipelines'"
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -l workspace-alias -d 'The fleet\'s AMP workspace: the one with exactly this alias, created when there is none (default kubecost-amp)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -l quick-start -d 'Skip the federated ETL bucket: metrics go to AMP only (fine for a few clusters)'
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -l dry-run -d 'Print the plan and stop; nothing is changed'
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -s y -l yes -d 'Apply the plan without asking (required when not on a terminal)'
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -l detailed-exitcode -d 'Exit with 5 instead of 0 when the run succeeded and nothing needed to change (for pipelines that act on changes)'
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -s v -l verbose -d 'Log more detail to stderr (-v: kcfed\'s debug log and the libraries\' warnings, -vv: trace); without it only kcfed\'s own messages'
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from primary" -s V -l version -d 'Print version'
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from help" -f -a "primary" -d 'Create or reuse the AMP workspace, S3 bucket, IAM roles and Kubernetes objects, then install Kubecost on the primary cluster'
complete -c kcfed -n "__fish_kcfed_using_subcommand init; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and not __fish_seen_subcommand_from cluster help" -s v -l verbose -d 'Log more detail to stderr (-v: kcfed\'s debug log and the libraries\' warnings, -vv: trace); without it only kcfed\'s own messages'
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and not __fish_seen_subcommand_from cluster help" -s h -l help -d 'Print help'
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and not __fish_seen_subcommand_from cluster help" -s V -l version -d 'Print version'
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and not __fish_seen_subcommand_from cluster help" -f -a "cluster" -d 'Join one or more clusters to the fleet as agents that write to the primary\'s workspace and bucket'
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and not __fish_seen_subcommand_from cluster help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -l cluster -d 'EKS cluster to join (repeat for several)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -l cluster-id -d 'The id of each --cluster in the fleet\'s data, in the same order (cluster_id in AMP, its federated ETL prefix, its name in Kubecost): DNS labels, unique in the fleet (default: the cluster\'s name, or NAME-REGION[-ACCOUNT] when another cluster has that name)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -l kube-context -d 'Kube context for each --cluster, in the same order (found automatically when omitted)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -l identity -d 'The fleet\'s identity mode (pod-identity or irsa): accepted when it is the fleet\'s, which every cluster follows (`init primary --identity` changes it)' -r -f -a "pod-identity\t'EKS Pod Identity: roles shared by every cluster, no OIDC provider (chart 2.4.3 or later)'
irsa\t'IAM roles for service accounts: an OIDC provider and two roles per cluster'"
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -l concurrency -d 'How many clusters join at the same time (each runs its own helm install)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -l workspace-id -d 'Use the AMP workspace with this id (ws-...)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -l workspace-alias -d 'The fleet\'s AMP workspace: the one with exactly this alias (default kubecost-amp)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -l workspace-region -l fleet-region -d 'The fleet\'s region when it differs from the cluster\'s: its AMP workspace\'s, and the one in the default bucket\'s name' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -l bucket -d 'The fleet\'s S3 bucket for federated files (default: kcfed-ACCOUNT-REGION-kubecost-etl in the fleet\'s region). A fleet without an AMP workspace is found by it' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -l namespace -d 'Namespace for Kubecost and its service accounts' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -l release -d 'Helm release name' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -l chart -d 'The Kubecost chart: an OCI reference, REPO/NAME of an added Helm repository, or a packaged chart\'s path (a registry mirror, or an air-gapped copy) [default: oci://public.ecr.aws/kubecost/cost-analyzer for 1.x and 2.x, oci://public.ecr.aws/kubecost/kubecost for 3.x]' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -l chart-version -d 'Version of the Kubecost chart to install: 1.103-1.108, 2.4-2.8 (README, "Kubecost 2.x"), 2.9 (the step to 3.x, README, "Moving to Kubecost 3") or 3.0-3.2 (README, "Kubecost 3") [default: the version the cluster\'s release runs; for a new release, the fleet\'s (the primary\'s); for a new fleet, 3.2.1 (2.8.7 with --quick-start)]' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -l storage-class -d 'StorageClass for every volume the chart makes (default: the cluster\'s default class); kcfed checks that it exists' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -l values -d 'Your own values file for the chart (repeat for several, later files winning, as helm\'s -f): applied after kcfed\'s EKS defaults; the settings the fleet depends on (AMP, SigV4, cluster_id, service accounts, federated storage) stay kcfed\'s, and the plan names any your files try to change' -r -F
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -l helm -d 'Path to the helm binary (defaults to `helm` on PATH)' -r -F
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -l timeout -d 'How long to wait for the workspace to become active and for helm (`90s`, `10m`, `1h30m`, as helm writes durations; a bare number is seconds)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -l profile -d 'Named profile from the AWS config files: its credentials, also over AWS_ACCESS_KEY_ID (AWS_PROFILE, read by the SDK itself, does not outrank those keys, as in the aws CLI)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -l region -d 'The fleet\'s AWS region: where its workspace is looked for (unless --workspace-region) and where clusters named without an ARN are (defaults to AWS_REGION or the profile\'s)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -l endpoint-url -d 'Send every AWS API call to this endpoint instead of the public one (VPC endpoints, proxies)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -l account-profile -d 'A profile of the AWS config files that acts in ACCOUNT (role_arn with source_profile, SSO, credential_process, ...), for that account\'s clusters; repeat for several accounts' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -l account-role -d 'A role kcfed assumes, with its own credentials, in every other account it has no --account-profile for: arn:aws:iam::ACCOUNT:role/ROLE_NAME (AWS Organizations create OrganizationAccountAccessRole)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -l kubeconfig -d 'Kubeconfig file to read (defaults to KUBECONFIG or ~/.kube/config)' -r -F
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -l output -d 'Output format for the plan and the report' -r -f -a "text\t'Human-readable text'
json\t'One JSON document, for pipelines'"
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -l dry-run -d 'Print the plan and stop; nothing is changed'
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -s y -l yes -d 'Apply the plan without asking (required when not on a terminal)'
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -l detailed-exitcode -d 'Exit with 5 instead of 0 when the run succeeded and nothing needed to change (for pipelines that act on changes)'
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -s v -l verbose -d 'Log more detail to stderr (-v: kcfed\'s debug log and the libraries\' warnings, -vv: trace); without it only kcfed\'s own messages'
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from cluster" -s V -l version -d 'Print version'
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from help" -f -a "cluster" -d 'Join one or more clusters to the fleet as agents that write to the primary\'s workspace and bucket'
complete -c kcfed -n "__fish_kcfed_using_subcommand join; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kcfed -n "__fish_kcfed_using_subcommand cleanup" -l cluster -d 'Remove this cluster from the fleet (repeat for several)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand cleanup" -l kube-context -d 'Kube context for each --cluster, in the same order (found automatically when omitted)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand cleanup" -l workspace-id -d 'Use the AMP workspace with this id (ws-...)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand cleanup" -l workspace-alias -d 'The fleet\'s AMP workspace: the one with exactly this alias (default kubecost-amp)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand cleanup" -l workspace-region -l fleet-region -d 'The fleet\'s region when it differs from the cluster\'s: its AMP workspace\'s, and the one in the default bucket\'s name' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand cleanup" -l bucket -d 'The fleet\'s S3 bucket for federated files (default: kcfed-ACCOUNT-REGION-kubecost-etl in the fleet\'s region). A fleet without an AMP workspace is found by it' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand cleanup" -l namespace -d 'Namespace of Kubecost\'s release and of the objects kcfed made' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand cleanup" -l release -d 'Helm release name' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand cleanup" -l helm -d 'Path to the helm binary (defaults to `helm` on PATH)' -r -F
complete -c kcfed -n "__fish_kcfed_using_subcommand cleanup" -l timeout -d 'How long helm waits for the uninstall (`90s`, `10m`; a bare number is seconds)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand cleanup" -l profile -d 'Named profile from the AWS config files: its credentials, also over AWS_ACCESS_KEY_ID (AWS_PROFILE, read by the SDK itself, does not outrank those keys, as in the aws CLI)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand cleanup" -l region -d 'The fleet\'s AWS region: where its workspace is looked for (unless --workspace-region) and where clusters named without an ARN are (defaults to AWS_REGION or the profile\'s)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand cleanup" -l endpoint-url -d 'Send every AWS API call to this endpoint instead of the public one (VPC endpoints, proxies)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand cleanup" -l account-profile -d 'A profile of the AWS config files that acts in ACCOUNT (role_arn with source_profile, SSO, credential_process, ...), for that account\'s clusters; repeat for several accounts' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand cleanup" -l account-role -d 'A role kcfed assumes, with its own credentials, in every other account it has no --account-profile for: arn:aws:iam::ACCOUNT:role/ROLE_NAME (AWS Organizations create OrganizationAccountAccessRole)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand cleanup" -l kubeconfig -d 'Kubeconfig file to read (defaults to KUBECONFIG or ~/.kube/config)' -r -F
complete -c kcfed -n "__fish_kcfed_using_subcommand cleanup" -l output -d 'Output format for the plan and the report' -r -f -a "text\t'Human-readable text'
json\t'One JSON document, for pipelines'"
complete -c kcfed -n "__fish_kcfed_using_subcommand cleanup" -l all -d 'Remove every cluster of the fleet, then the shared bucket, policies and workspace'
complete -c kcfed -n "__fish_kcfed_using_subcommand cleanup" -l amp-workspace -d 'Remove only the fleet\'s AMP workspace, with the metrics in it, and AMP\'s IAM policies, once every cluster runs Kubecost 3; the fleet keeps the rest and is found by its bucket'
complete -c kcfed -n "__fish_kcfed_using_subcommand cleanup" -l strict -d 'Stop when a cluster\'s Kubernetes API cannot be reached instead of skipping it'
complete -c kcfed -n "__fish_kcfed_using_subcommand cleanup" -l dry-run -d 'Print the plan and stop; nothing is changed'
complete -c kcfed -n "__fish_kcfed_using_subcommand cleanup" -s y -l yes -d 'Apply the plan without asking (required when not on a terminal)'
complete -c kcfed -n "__fish_kcfed_using_subcommand cleanup" -l detailed-exitcode -d 'Exit with 5 instead of 0 when the run succeeded and nothing needed to change (for pipelines that act on changes)'
complete -c kcfed -n "__fish_kcfed_using_subcommand cleanup" -s v -l verbose -d 'Log more detail to stderr (-v: kcfed\'s debug log and the libraries\' warnings, -vv: trace); without it only kcfed\'s own messages'
complete -c kcfed -n "__fish_kcfed_using_subcommand cleanup" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kcfed -n "__fish_kcfed_using_subcommand cleanup" -s V -l version -d 'Print version'
complete -c kcfed -n "__fish_kcfed_using_subcommand status" -l cluster -d 'Show only this cluster of the fleet (repeat for several; default: every cluster)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand status" -l kube-context -d 'Kube context for each --cluster, in the same order (found automatically when omitted)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand status" -l max-age -d 'A cluster reports when AMP holds metrics of it at most this old (`90s`, `10m`, `2h`). Kubecost\'s Prometheus scrapes every minute and remote-writes within seconds, so ten minutes tolerates a few missed scrapes and retried writes but not an outage' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand status" -l concurrency -d 'How many clusters are read at the same time' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand status" -l namespace -d 'Namespace of Kubecost\'s release' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand status" -l release -d 'Helm release name' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand status" -l helm -d 'Path to the helm binary (defaults to `helm` on PATH)' -r -F
complete -c kcfed -n "__fish_kcfed_using_subcommand status" -l output -d 'Output format' -r -f -a "text\t'Human-readable text'
json\t'One JSON document, for pipelines'"
complete -c kcfed -n "__fish_kcfed_using_subcommand status" -l workspace-id -d 'Use the AMP workspace with this id (ws-...)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand status" -l workspace-alias -d 'The fleet\'s AMP workspace: the one with exactly this alias (default kubecost-amp)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand status" -l workspace-region -l fleet-region -d 'The fleet\'s region when it differs from the cluster\'s: its AMP workspace\'s, and the one in the default bucket\'s name' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand status" -l bucket -d 'The fleet\'s S3 bucket for federated files (default: kcfed-ACCOUNT-REGION-kubecost-etl in the fleet\'s region). A fleet without an AMP workspace is found by it' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand status" -l profile -d 'Named profile from the AWS config files: its credentials, also over AWS_ACCESS_KEY_ID (AWS_PROFILE, read by the SDK itself, does not outrank those keys, as in the aws CLI)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand status" -l region -d 'The fleet\'s AWS region: where its workspace is looked for (unless --workspace-region) and where clusters named without an ARN are (defaults to AWS_REGION or the profile\'s)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand status" -l endpoint-url -d 'Send every AWS API call to this endpoint instead of the public one (VPC endpoints, proxies)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand status" -l account-profile -d 'A profile of the AWS config files that acts in ACCOUNT (role_arn with source_profile, SSO, credential_process, ...), for that account\'s clusters; repeat for several accounts' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand status" -l account-role -d 'A role kcfed assumes, with its own credentials, in every other account it has no --account-profile for: arn:aws:iam::ACCOUNT:role/ROLE_NAME (AWS Organizations create OrganizationAccountAccessRole)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand status" -l kubeconfig -d 'Kubeconfig file to read (defaults to KUBECONFIG or ~/.kube/config)' -r -F
complete -c kcfed -n "__fish_kcfed_using_subcommand status" -s v -l verbose -d 'Log more detail to stderr (-v: kcfed\'s debug log and the libraries\' warnings, -vv: trace); without it only kcfed\'s own messages'
complete -c kcfed -n "__fish_kcfed_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kcfed -n "__fish_kcfed_using_subcommand status" -s V -l version -d 'Print version'
complete -c kcfed -n "__fish_kcfed_using_subcommand render" -l role -d 'Render for the primary cluster or for an agent' -r -f -a "primary\t'The cluster that runs the federator and shows the combined view'
agent\t'A cluster that only ships its data to the fleet'"
complete -c kcfed -n "__fish_kcfed_using_subcommand render" -l cluster -d 'EKS cluster name, or its ARN (which gives its region, and its account when that is not the fleet\'s)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand render" -l cluster-id -d 'The cluster\'s id in the fleet\'s data (cluster_id, federated ETL prefix, its name in Kubecost): a DNS label, unique in the fleet (default: the cluster\'s name)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand render" -l region -d 'AWS region of the cluster (required unless --cluster is an ARN)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand render" -l account-id -d 'The fleet\'s AWS account id (12 digits): the workspace\'s, the bucket\'s and the roles\'' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand render" -l workspace-id -d 'The fleet\'s AMP workspace id (ws-...): needed for a chart that writes to AMP (1.x, 2.x, 2.9); a Kubecost 3 fleet made without one has none' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand render" -l workspace-region -d 'Region of the AMP workspace (defaults to --region)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand render" -l bucket -d 'S3 bucket for federated ETL files (default: one name per account and region)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand render" -l bucket-region -d 'Region of the bucket (defaults to --region; for an agent, give the primary\'s bucket region)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand render" -l identity -d 'The fleet\'s identity mode: pod-identity or irsa (default: pod-identity where the chart can use it, else irsa, as for a new fleet)' -r -f -a "pod-identity\t'EKS Pod Identity: roles shared by every cluster, no OIDC provider (chart 2.4.3 or later)'
irsa\t'IAM roles for service accounts: an OIDC provider and two roles per cluster'"
complete -c kcfed -n "__fish_kcfed_using_subcommand render" -l oidc-issuer -d 'Issuer URL of the cluster\'s OIDC provider, for the trust policies (placeholder when omitted)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand render" -l namespace -d 'Namespace for Kubecost and its service accounts' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand render" -l release -d 'Helm release name' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand render" -l chart -d 'The Kubecost chart: an OCI reference, REPO/NAME of an added Helm repository, or a packaged chart\'s path (a registry mirror, or an air-gapped copy) [default: oci://public.ecr.aws/kubecost/cost-analyzer for 1.x and 2.x, oci://public.ecr.aws/kubecost/kubecost for 3.x]' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand render" -l chart-version -d 'Version of the Kubecost chart to install: 1.103-1.108, 2.4-2.8 (README, "Kubecost 2.x"), 2.9 (the step to 3.x, README, "Moving to Kubecost 3") or 3.0-3.2 (README, "Kubecost 3") [default: the version the cluster\'s release runs; for a new release, the fleet\'s (the primary\'s); for a new fleet, 3.2.1 (2.8.7 with --quick-start)]' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand render" -l storage-class -d 'StorageClass for every volume the chart makes (default: the cluster\'s default class); kcfed checks that it exists' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand render" -l values -d 'Your own values file for the chart (repeat for several, later files winning, as helm\'s -f): applied after kcfed\'s EKS defaults; the settings the fleet depends on (AMP, SigV4, cluster_id, service accounts, federated storage) stay kcfed\'s, and the plan names any your files try to change' -r -F
complete -c kcfed -n "__fish_kcfed_using_subcommand render" -l cloud-integration-secret -d 'Turn on Kubecost\'s Cloud Costs view with the cloud integration secret of this name' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand render" -l out -d 'Folder to write the files to (created when missing)' -r -F
complete -c kcfed -n "__fish_kcfed_using_subcommand render" -l output -d 'Output format for the summary' -r -f -a "text\t'Human-readable text'
json\t'One JSON document, for pipelines'"
complete -c kcfed -n "__fish_kcfed_using_subcommand render" -l quick-start -d 'Skip the federated ETL bucket: metrics go to AMP only'
complete -c kcfed -n "__fish_kcfed_using_subcommand render" -s v -l verbose -d 'Log more detail to stderr (-v: kcfed\'s debug log and the libraries\' warnings, -vv: trace); without it only kcfed\'s own messages'
complete -c kcfed -n "__fish_kcfed_using_subcommand render" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kcfed -n "__fish_kcfed_using_subcommand render" -s V -l version -d 'Print version'
complete -c kcfed -n "__fish_kcfed_using_subcommand dashboard" -l cluster -d 'The cluster whose UI to open: a name, an ARN or a cluster id of the fleet (default: the fleet\'s primary)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand dashboard" -l kube-context -d 'Kube context of the cluster (found automatically when omitted)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand dashboard" -l port -d 'Port on localhost the UI is served on (0 picks a free one)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand dashboard" -l namespace -d 'Namespace of Kubecost\'s release' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand dashboard" -l release -d 'Helm release name' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand dashboard" -l workspace-id -d 'Use the AMP workspace with this id (ws-...)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand dashboard" -l workspace-alias -d 'The fleet\'s AMP workspace: the one with exactly this alias (default kubecost-amp)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand dashboard" -l workspace-region -l fleet-region -d 'The fleet\'s region when it differs from the cluster\'s: its AMP workspace\'s, and the one in the default bucket\'s name' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand dashboard" -l bucket -d 'The fleet\'s S3 bucket for federated files (default: kcfed-ACCOUNT-REGION-kubecost-etl in the fleet\'s region). A fleet without an AMP workspace is found by it' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand dashboard" -l profile -d 'Named profile from the AWS config files: its credentials, also over AWS_ACCESS_KEY_ID (AWS_PROFILE, read by the SDK itself, does not outrank those keys, as in the aws CLI)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand dashboard" -l region -d 'The fleet\'s AWS region: where its workspace is looked for (unless --workspace-region) and where clusters named without an ARN are (defaults to AWS_REGION or the profile\'s)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand dashboard" -l endpoint-url -d 'Send every AWS API call to this endpoint instead of the public one (VPC endpoints, proxies)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand dashboard" -l account-profile -d 'A profile of the AWS config files that acts in ACCOUNT (role_arn with source_profile, SSO, credential_process, ...), for that account\'s clusters; repeat for several accounts' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand dashboard" -l account-role -d 'A role kcfed assumes, with its own credentials, in every other account it has no --account-profile for: arn:aws:iam::ACCOUNT:role/ROLE_NAME (AWS Organizations create OrganizationAccountAccessRole)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand dashboard" -l kubeconfig -d 'Kubeconfig file to read (defaults to KUBECONFIG or ~/.kube/config)' -r -F
complete -c kcfed -n "__fish_kcfed_using_subcommand dashboard" -s v -l verbose -d 'Log more detail to stderr (-v: kcfed\'s debug log and the libraries\' warnings, -vv: trace); without it only kcfed\'s own messages'
complete -c kcfed -n "__fish_kcfed_using_subcommand dashboard" -s h -l help -d 'Print help'
complete -c kcfed -n "__fish_kcfed_using_subcommand dashboard" -s V -l version -d 'Print version'
complete -c kcfed -n "__fish_kcfed_using_subcommand completions" -s v -l verbose -d 'Log more detail to stderr (-v: kcfed\'s debug log and the libraries\' warnings, -vv: trace); without it only kcfed\'s own messages'
complete -c kcfed -n "__fish_kcfed_using_subcommand completions" -s h -l help -d 'Print help'
complete -c kcfed -n "__fish_kcfed_using_subcommand completions" -s V -l version -d 'Print version'
complete -c kcfed -n "__fish_kcfed_using_subcommand man" -s v -l verbose -d 'Log more detail to stderr (-v: kcfed\'s debug log and the libraries\' warnings, -vv: trace); without it only kcfed\'s own messages'
complete -c kcfed -n "__fish_kcfed_using_subcommand man" -s h -l help -d 'Print help'
complete -c kcfed -n "__fish_kcfed_using_subcommand man" -s V -l version -d 'Print version'
complete -c kcfed -n "__fish_kcfed_using_subcommand eks-token" -l cluster -d 'The EKS cluster\'s name; --region is its region' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand eks-token" -l profile -d 'Named profile from the AWS config files: its credentials, also over AWS_ACCESS_KEY_ID (AWS_PROFILE, read by the SDK itself, does not outrank those keys, as in the aws CLI)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand eks-token" -l region -d 'The fleet\'s AWS region: where its workspace is looked for (unless --workspace-region) and where clusters named without an ARN are (defaults to AWS_REGION or the profile\'s)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand eks-token" -l endpoint-url -d 'Send every AWS API call to this endpoint instead of the public one (VPC endpoints, proxies)' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand eks-token" -l access-profile -d 'The cluster\'s account is reached with this profile of the AWS config files' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand eks-token" -l access-role -d 'The cluster\'s account is reached by assuming this role' -r
complete -c kcfed -n "__fish_kcfed_using_subcommand eks-token" -s v -l verbose -d 'Log more detail to stderr (-v: kcfed\'s debug log and the libraries\' warnings, -vv: trace); without it only kcfed\'s own messages'
complete -c kcfed -n "__fish_kcfed_using_subcommand eks-token" -s h -l help -d 'Print help'
complete -c kcfed -n "__fish_kcfed_using_subcommand eks-token" -s V -l version -d 'Print version'
complete -c kcfed -n "__fish_kcfed_using_subcommand help; and not __fish_seen_subcommand_from init join cleanup status render dashboard completions man eks-token help" -f -a "init" -d 'Set up the first (primary) cluster of a fleet'
complete -c kcfed -n "__fish_kcfed_using_subcommand help; and not __fish_seen_subcommand_from init join cleanup status render dashboard completions man eks-token help" -f -a "join" -d 'Add more clusters to an existing fleet'
complete -c kcfed -n "__fish_kcfed_using_subcommand help; and not __fish_seen_subcommand_from init join cleanup status render dashboard completions man eks-token help" -f -a "cleanup" -d 'Remove clusters, or the whole fleet, and everything kcfed made for them'
complete -c kcfed -n "__fish_kcfed_using_subcommand help; and not __fish_seen_subcommand_from init join cleanup status render dashboard completions man eks-token help" -f -a "status" -d 'Show whether every cluster of the fleet is installed and its metrics reach AMP'
complete -c kcfed -n "__fish_kcfed_using_subcommand help; and not __fish_seen_subcommand_from init join cleanup status render dashboard completions man eks-token help" -f -a "render" -d 'Write every values file, policy and config kcfed would use, offline, to a folder'
complete -c kcfed -n "__fish_kcfed_using_subcommand help; and not __fish_seen_subcommand_from init join cleanup status render dashboard completions man eks-token help" -f -a "dashboard" -d 'Open a cluster\'s Kubecost UI on a local port (the fleet\'s primary by default), through kcfed\'s own access to the cluster; Ctrl-C stops it'
complete -c kcfed -n "__fish_kcfed_using_subcommand help; and not __fish_seen_subcommand_from init join cleanup status render dashboard completions man eks-token help" -f -a "completions" -d 'Print a shell completion script to stdout'
complete -c kcfed -n "__fish_kcfed_using_subcommand help; and not __fish_seen_subcommand_from init join cleanup status render dashboard completions man eks-token help" -f -a "man" -d 'Print the man page (roff) to stdout; packagers install it as kcfed.1'
complete -c kcfed -n "__fish_kcfed_using_subcommand help; and not __fish_seen_subcommand_from init join cleanup status render dashboard completions man eks-token help" -f -a "eks-token" -d 'Print an EKS token as a Kubernetes credential plugin (the kubeconfigs kcfed writes for clusters it reaches directly run it)'
complete -c kcfed -n "__fish_kcfed_using_subcommand help; and not __fish_seen_subcommand_from init join cleanup status render dashboard completions man eks-token help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kcfed -n "__fish_kcfed_using_subcommand help; and __fish_seen_subcommand_from init" -f -a "primary" -d 'Create or reuse the AMP workspace, S3 bucket, IAM roles and Kubernetes objects, then install Kubecost on the primary cluster'
complete -c kcfed -n "__fish_kcfed_using_subcommand help; and __fish_seen_subcommand_from join" -f -a "cluster" -d 'Join one or more clusters to the fleet as agents that write to the primary\'s workspace and bucket'
