//! The command line, declared with clap's derive API: global flags and one subcommand per
//! API area. Doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The exit codes, shown at the end of `ferry --help`.
const EXIT_CODES: &str = "Exit codes: 0 success; 1 the API refused or failed the call; 2 usage \
error; 3 local configuration (no context, no token, unreadable file); 4 gateway unreachable; 5 a \
long-running operation failed or was cancelled.\n\nEnvironment: FERRY_CONFIG (config file), \
FERRY_CONTEXT, FERRY_GATEWAY, FERRY_TOKEN, FERRY_NAMESPACE override the config file.";

/// Ferry's command line: talks to a Ferry gateway over gRPC.
#[derive(Debug, Parser)]
#[command(name = "ferry", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// Flags every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The context to use (default: the current one, see `ferry context list`).
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// The namespace of namespaced commands (default: the context's).
    #[arg(long, short = 'n', global = true)]
    pub namespace: Option<String>,
    /// Output format.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    /// Return as soon as a long-running call is accepted, printing its operation,
    /// instead of following it with a progress bar.
    #[arg(long, global = true)]
    pub no_wait: bool,
}

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Aligned columns for people.
    Table,
    /// Proto JSON (the canonical protobuf JSON mapping) for scripts.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Store a gateway address and token as a context (the token is never printed).
    Login(LoginArgs),
    /// List, switch and edit contexts.
    #[command(subcommand)]
    Context(ContextCommand),
    /// Namespaces.
    #[command(subcommand, alias = "ns")]
    Namespaces(NamespacesCommand),
    /// Deployments: create, update, scale, roll back.
    #[command(subcommand, alias = "deploy")]
    Deployments(DeploymentsCommand),
    /// A deployment's autoscaling policy: show, set, delete.
    #[command(subcommand)]
    Autoscaling(AutoscalingCommand),
    /// Rollouts of a deployment.
    #[command(subcommand)]
    Rollouts(RolloutsCommand),
    /// Instances of a deployment: list, logs, restart.
    #[command(subcommand)]
    Instances(InstancesCommand),
    /// Events of a namespace.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Hosts of the runtimes.
    #[command(subcommand)]
    Hosts(HostsCommand),
    /// Secrets of a namespace (values are write-only).
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Services: a stable address in front of a deployment's instances.
    #[command(subcommand, alias = "svc")]
    Services(ServicesCommand),
    /// External entries: outside addresses reachable under a namespace's DNS name.
    #[command(subcommand)]
    ExternalEntries(ExternalEntriesCommand),
    /// Blue-green entries: one address switched between two namespaces.
    #[command(subcommand)]
    BlueGreen(BlueGreenCommand),
    /// Applications: a git source and how it is built into images.
    #[command(subcommand, alias = "apps")]
    Applications(ApplicationsCommand),
    /// Builds of an application: start, follow, cancel, logs.
    #[command(subcommand)]
    Builds(BuildsCommand),
    /// Image versions built for an application.
    #[command(subcommand)]
    Images(ImagesCommand),
    /// Promotions of an image from QA to production.
    #[command(subcommand)]
    Promotions(PromotionsCommand),
    /// API tokens.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Long-running operations.
    #[command(subcommand)]
    Operations(OperationsCommand),
}

/// `ferry login`: writes the context named by `--context` (else the current one, else
/// `default`), with `--namespace` as its default namespace when given.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The gateway address, e.g. `http://127.0.0.1:7000` (default: the context's, or
    /// FERRY_GATEWAY).
    #[arg(long)]
    pub gateway: Option<String>,
    /// A file holding the token.
    #[arg(long, conflicts_with = "token")]
    pub token_file: Option<PathBuf>,
    /// The token itself (visible in the process list: prefer --token-file or stdin).
    #[arg(long)]
    pub token: Option<String>,
}

/// `ferry context …`.
#[derive(Debug, Subcommand)]
pub enum ContextCommand {
    /// List the contexts (the current one is marked).
    List,
    /// Make a context the current one.
    Use {
        /// The context's name.
        name: String,
    },
    /// Set the default namespace of the current context (or of `--context`).
    SetNamespace {
        /// The namespace id.
        namespace: String,
    },
}

/// `ferry namespaces …`.
#[derive(Debug, Subcommand)]
pub enum NamespacesCommand {
    /// List namespaces.
    List(ListArgs),
    /// Show one namespace.
    Get {
        /// The namespace id (or `namespaces/<id>`).
        id: String,
    },
    /// Create a namespace.
    Create {
        /// The namespace id.
        id: String,
        /// A description.
        #[arg(long, default_value = "")]
        description: String,
        /// A display name.
        #[arg(long, default_value = "")]
        display_name: String,
    },
    /// Change fields: `--set PATH=VALUE` (repeatable), written back with the etag just read.
    Update(UpdateArgs),
    /// Delete a namespace (a long-running operation).
    Delete {
        /// The namespace id.
        id: String,
        /// Delete what it holds too.
        #[arg(long)]
        force: bool,
    },
}

/// `ferry <area> update ID --set PATH=VALUE…`: reads the resource, applies the edits and
/// writes it back with the etag it read (a concurrent change answers ABORTED: run it again).
#[derive(Debug, Args, Default)]
pub struct UpdateArgs {
    /// The resource id (or its full name).
    pub id: String,
    /// A field edit `PATH=VALUE` (repeatable). PATH is a field (proto or JSON name),
    /// `.`-separated into messages (`source.ref=main`) or one map key
    /// (`labels.team=web`); VALUE is proto JSON (`3`, `true`, `[…]`, `{…}`, an enum
    /// value's name) or plain text. `ferry <area> get ID -o json` shows the fields.
    #[arg(long = "set", required = true, value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Only check the change with the service; change nothing.
    #[arg(long)]
    pub validate_only: bool,
}

/// Paging and filtering of list commands.
#[derive(Debug, Args, Default)]
pub struct ListArgs {
    /// An AIP-160 filter.
    #[arg(long, default_value = "")]
    pub filter: String,
    /// Most items to show (0: all).
    #[arg(long, default_value_t = 0)]
    pub limit: usize,
}

/// `ferry deployments …`.
#[derive(Debug, Subcommand)]
pub enum DeploymentsCommand {
    /// List deployments of the namespace.
    List(ListArgs),
    /// Show one deployment.
    Get {
        /// The deployment id (or its full name).
        id: String,
    },
    /// Create a deployment from flags, or from a proto JSON file (`-f`).
    Create(CreateDeploymentArgs),
    /// Change a deployment's image or environment (makes a new revision).
    Update(UpdateDeploymentArgs),
    /// Set a deployment's replica count.
    Scale {
        /// The deployment id.
        id: String,
        /// The replica count.
        replicas: i32,
    },
    /// Delete a deployment and its instances.
    Delete {
        /// The deployment id.
        id: String,
    },
    /// List a deployment's revisions.
    Revisions {
        /// The deployment id.
        id: String,
    },
    /// Roll a deployment back to an earlier revision.
    Rollback {
        /// The deployment id.
        id: String,
        /// The revision to go back to (`r3`, or `3`).
        #[arg(long)]
        to: String,
        /// Accept a revision known to be bad.
        #[arg(long)]
        force: bool,
    },
}

/// `ferry deployments create`.
#[derive(Debug, Args, Default)]
pub struct CreateDeploymentArgs {
    /// The deployment id (taken from the file's `name` when omitted with `-f`).
    pub id: Option<String>,
    /// A `Deployment` in proto JSON; the flags below are refused with it.
    #[arg(long, short = 'f', conflicts_with_all = ["image", "replicas", "env", "port"])]
    pub file: Option<PathBuf>,
    /// The image: a digest-pinned reference (`registry/app@sha256:…`), or a built image
    /// `applications/<app>/images/<image>`.
    #[arg(long)]
    pub image: Option<String>,
    /// The replica count.
    #[arg(long)]
    pub replicas: Option<i32>,
    /// An environment variable `KEY=VALUE` (repeatable).
    #[arg(long = "env", short = 'e')]
    pub env: Vec<String>,
    /// A port `name:port[/tcp|/udp|/http|/grpc]` (repeatable).
    #[arg(long = "port", short = 'p')]
    pub port: Vec<String>,
}

/// `ferry deployments update`.
#[derive(Debug, Args, Default)]
pub struct UpdateDeploymentArgs {
    /// The deployment id.
    pub id: String,
    /// The new image.
    #[arg(long)]
    pub image: Option<String>,
    /// Set an environment variable `KEY=VALUE` (repeatable); `KEY-` removes one.
    #[arg(long = "env", short = 'e')]
    pub env: Vec<String>,
}

/// `ferry autoscaling …`: the policy of one deployment (there is at most one).
#[derive(Debug, Subcommand)]
pub enum AutoscalingCommand {
    /// Show a deployment's policy with its state and the last scaling.
    Get {
        /// The deployment id (or its full name).
        deployment: String,
    },
    /// Create the policy, or change the given fields of the existing one (guarded by its
    /// etag); a new policy is enabled unless `--disable`.
    Set(SetAutoscalingArgs),
    /// Delete a deployment's policy (its replica count stays where it is).
    Delete {
        /// The deployment id (or its full name).
        deployment: String,
    },
}

/// `ferry autoscaling set`.
#[derive(Debug, Args)]
pub struct SetAutoscalingArgs {
    /// The deployment id (or its full name).
    pub deployment: String,
    /// The fewest instances.
    #[arg(long)]
    pub min: Option<i32>,
    /// The most instances.
    #[arg(long)]
    pub max: Option<i32>,
    /// CPU utilization, in percent of the instances' CPU request: `DOWN:TARGET:UP`
    /// (scale down below DOWN, up above UP, towards TARGET), or a TARGET alone (DOWN 20
    /// below it, UP 10 above it).
    #[arg(long, value_name = "[DOWN:]TARGET[:UP]")]
    pub cpu: Option<String>,
    /// Memory utilization, in percent of the instances' memory request, as for `--cpu`.
    #[arg(long, value_name = "[DOWN:]TARGET[:UP]")]
    pub memory: Option<String>,
    /// Turn the policy on.
    #[arg(long, conflicts_with = "disable")]
    pub enable: bool,
    /// Turn the policy off (it is kept, and scales nothing).
    #[arg(long)]
    pub disable: bool,
    /// Check the change only: nothing is written.
    #[arg(long)]
    pub validate_only: bool,
}

/// `ferry rollouts …`.
#[derive(Debug, Subcommand)]
pub enum RolloutsCommand {
    /// List a deployment's rollouts.
    List {
        /// The deployment id.
        deployment: String,
    },
    /// Show a rollout (`<deployment>/<rollout>` or its full name).
    Get {
        /// The rollout.
        rollout: String,
    },
    /// Pause a rollout.
    Pause {
        /// The rollout.
        rollout: String,
    },
    /// Resume a paused rollout.
    Resume {
        /// The rollout.
        rollout: String,
    },
    /// Abort a rollout (rolls back to the previous revision).
    Abort {
        /// The rollout.
        rollout: String,
    },
}

/// `ferry instances …`.
#[derive(Debug, Subcommand)]
pub enum InstancesCommand {
    /// List a deployment's instances.
    List {
        /// The deployment id.
        deployment: String,
    },
    /// Print an instance's logs (`<deployment>/<instance>`).
    Logs {
        /// The instance.
        instance: String,
        /// Keep following new output.
        #[arg(long, short = 'f')]
        follow: bool,
        /// Only the last N lines.
        #[arg(long)]
        tail: Option<i32>,
    },
    /// Restart an instance in place.
    Restart {
        /// The instance.
        instance: String,
    },
    /// Delete an instance (the deployment replaces it).
    Delete {
        /// The instance.
        instance: String,
    },
}

/// `ferry events …`.
#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// List the namespace's events.
    List(ListArgs),
    /// Print new events as they happen.
    Watch {
        /// An AIP-160 filter.
        #[arg(long, default_value = "")]
        filter: String,
    },
}

/// `ferry hosts …`.
#[derive(Debug, Subcommand)]
pub enum HostsCommand {
    /// List hosts.
    List(ListArgs),
    /// Stop placing new instances on a host.
    Cordon {
        /// The host id.
        host: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Allow placing instances on a host again.
    Uncordon {
        /// The host id.
        host: String,
    },
}

/// `ferry secrets …`.
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// List the namespace's secrets (keys only).
    List(ListArgs),
    /// Create a secret.
    Create {
        /// The secret id.
        id: String,
        /// A value `KEY=VALUE` (repeatable).
        #[arg(long = "from-literal", required = true)]
        from_literal: Vec<String>,
    },
    /// Delete a secret.
    Delete {
        /// The secret id.
        id: String,
        /// Delete it even while deployments use it.
        #[arg(long)]
        force: bool,
    },
}

/// `ferry tokens …`.
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// List tokens.
    List(ListArgs),
    /// Create a token; its secret is printed once.
    Create {
        /// The token id.
        id: String,
        /// Limit the token to these roles (repeatable).
        #[arg(long = "role")]
        roles: Vec<String>,
        /// Limit the token to these namespaces (repeatable).
        #[arg(long = "scope-namespace")]
        namespaces: Vec<String>,
        /// Lifetime, e.g. `3600s` (default: the server's).
        #[arg(long)]
        ttl_seconds: Option<i64>,
    },
    /// Revoke a token.
    Revoke {
        /// The token id.
        id: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
}

/// `ferry operations …`.
#[derive(Debug, Subcommand)]
pub enum OperationsCommand {
    /// Show an operation.
    Get {
        /// The operation (`operations/<id>` or `<id>`).
        name: String,
    },
    /// Follow an operation to its end, with a progress bar.
    Wait {
        /// The operation.
        name: String,
    },
}

/// `--type` of a Service or blue-green entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ServiceType {
    /// Reachable inside the platform only (the default).
    Cluster,
    /// Also published on a port of every node (30000-32767).
    NodePort,
}

/// `--affinity` of a Service or blue-green entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Affinity {
    /// Connections are spread over the endpoints (the default).
    None,
    /// Connections from one client address go to the same endpoint.
    ClientIp,
}

/// A side of a blue-green entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SideArg {
    /// The blue namespace.
    Blue,
    /// The green namespace.
    Green,
}

/// `ferry services …` (in the namespace).
#[derive(Debug, Subcommand)]
pub enum ServicesCommand {
    /// List the namespace's Services.
    List(ListArgs),
    /// Show one Service.
    Get {
        /// The Service id (or its full name).
        id: String,
    },
    /// Create a Service in front of a deployment.
    Create(CreateServiceArgs),
    /// Change fields: `--set PATH=VALUE` (repeatable), written back with the etag just read.
    Update(UpdateArgs),
    /// Delete a Service.
    Delete {
        /// The Service id.
        id: String,
    },
    /// List a Service's endpoints (the instances it routes to).
    Endpoints {
        /// The Service id.
        id: String,
    },
}

/// `ferry services create`.
#[derive(Debug, Args, Default)]
pub struct CreateServiceArgs {
    /// The Service id.
    pub id: String,
    /// The deployment it routes to (an id in the namespace, or its full name).
    #[arg(long)]
    pub deployment: String,
    /// A port `[name=]PORT[:TARGET]` (repeatable; names are required with several):
    /// clients connect to PORT, forwarded to the instances' TARGET (a number or a
    /// deployment port name; default PORT).
    #[arg(long = "port", short = 'p', required = true)]
    pub port: Vec<String>,
    /// The node port of the (only) port, 30000-32767; implies `--type node-port`.
    #[arg(long)]
    pub node_port: Option<i32>,
    /// How the Service is reachable (default: cluster).
    #[arg(long = "type", value_enum)]
    pub service_type: Option<ServiceType>,
    /// Session affinity (default: none).
    #[arg(long, value_enum)]
    pub affinity: Option<Affinity>,
}

/// `ferry external-entries …` (in the namespace).
#[derive(Debug, Subcommand)]
pub enum ExternalEntriesCommand {
    /// List the namespace's external entries.
    List(ListArgs),
    /// Show one external entry with the health of its addresses.
    Get {
        /// The entry id (or its full name).
        id: String,
    },
    /// Create an external entry.
    Create(CreateExternalEntryArgs),
    /// Change fields: `--set PATH=VALUE` (repeatable), written back with the etag just read.
    Update(UpdateArgs),
    /// Delete an external entry.
    Delete {
        /// The entry id.
        id: String,
    },
}

/// `ferry external-entries create`.
#[derive(Debug, Args, Default)]
pub struct CreateExternalEntryArgs {
    /// The entry id.
    pub id: String,
    /// An outside address `HOST[:PORT]` (repeatable; IPv6 as `[::1]:PORT`): an IP address
    /// or a DNS name. PORT is where the first `--port` leads on this address (default:
    /// the same number).
    #[arg(long = "address", required = true)]
    pub address: Vec<String>,
    /// A port `NAME=PORT` clients connect to on the entry's DNS name (repeatable).
    #[arg(long = "port", short = 'p', required = true)]
    pub port: Vec<String>,
    /// Check every address: `tcp` (connect) or `http:/path` (GET answering 2xx/3xx), on
    /// the first port.
    #[arg(long)]
    pub health_check: Option<String>,
}

/// `ferry blue-green …` (entries are not namespaced).
#[derive(Debug, Subcommand)]
pub enum BlueGreenCommand {
    /// List blue-green entries.
    List(ListArgs),
    /// Show one entry with both sides and its switch history.
    Get {
        /// The entry id (or `blueGreenEntries/<id>`).
        id: String,
    },
    /// Create an entry over an application's deployment in two namespaces.
    Create(CreateBlueGreenArgs),
    /// Switch traffic to the other side (or `--to` a side); follows the switch.
    Switch {
        /// The entry id.
        id: String,
        /// The side to switch to (default: the inactive one).
        #[arg(long, value_enum)]
        to: Option<SideArg>,
    },
    /// Switch back to the side that was active before the last switch.
    Rollback {
        /// The entry id.
        id: String,
    },
    /// Change fields: `--set PATH=VALUE` (repeatable), written back with the etag just read.
    Update(UpdateArgs),
    /// Delete an entry (a long-running operation).
    Delete {
        /// The entry id.
        id: String,
    },
    /// List the namespaces the entry's application can be deployed to, with each side's
    /// health.
    Namespaces {
        /// The entry id.
        id: String,
    },
}

/// `ferry blue-green create`.
#[derive(Debug, Args, Default)]
pub struct CreateBlueGreenArgs {
    /// The entry id.
    pub id: String,
    /// The application (`<id>` or `applications/<id>`).
    #[arg(long)]
    pub application: String,
    /// The blue side's namespace.
    #[arg(long)]
    pub blue: String,
    /// The green side's namespace.
    #[arg(long)]
    pub green: String,
    /// The deployment id in both namespaces (default: the application's id).
    #[arg(long)]
    pub deployment: Option<String>,
    /// The side active at first (default: blue).
    #[arg(long, value_enum)]
    pub initial_side: Option<SideArg>,
    /// A port `[name=]PORT[:TARGET]` (repeatable), as for `services create`.
    #[arg(long = "port", short = 'p', required = true)]
    pub port: Vec<String>,
    /// How the entry is reachable (default: cluster).
    #[arg(long = "type", value_enum)]
    pub service_type: Option<ServiceType>,
    /// Session affinity (default: none).
    #[arg(long, value_enum)]
    pub affinity: Option<Affinity>,
}

/// `ferry applications …` (applications are not namespaced).
#[derive(Debug, Subcommand)]
pub enum ApplicationsCommand {
    /// List applications.
    List(ListArgs),
    /// Show one application.
    Get {
        /// The application id (or `applications/<id>`).
        id: String,
    },
    /// Create an application (no build starts: see `ferry builds start`).
    Create(Box<CreateApplicationArgs>),
    /// Change fields: `--set PATH=VALUE` (repeatable), written back with the etag just read.
    Update(UpdateArgs),
    /// Delete an application.
    Delete {
        /// The application id.
        id: String,
        /// Also delete its builds, images and promotions (never deployed images).
        #[arg(long)]
        force: bool,
    },
}

/// `ferry applications create`.
#[derive(Debug, Args, Default)]
pub struct CreateApplicationArgs {
    /// The application id.
    pub id: String,
    /// The git repository: an https or ssh URL, or a local path on the build host.
    #[arg(long)]
    pub git: String,
    /// The development ref: a branch, tag or commit (default: the default branch).
    #[arg(long = "ref")]
    pub git_ref: Option<String>,
    /// Directory of the application inside the repository (monorepos).
    #[arg(long)]
    pub sub_directory: Option<String>,
    /// Shell script of the BUILD step (run with `/bin/sh -e`).
    #[arg(long)]
    pub build_script: Option<String>,
    /// Shell script of the TEST step.
    #[arg(long)]
    pub test_script: Option<String>,
    /// Make the image with this Dockerfile (relative to the workspace).
    #[arg(long, conflicts_with_all = ["artifact", "base_image"])]
    pub dockerfile: Option<String>,
    /// Make the image by copying `SOURCE[:DESTINATION]` onto `--base-image`
    /// (repeatable; DESTINATION is absolute, default `/app/`).
    #[arg(long, requires = "base_image")]
    pub artifact: Vec<String>,
    /// The base image of an artifact build.
    #[arg(long, requires = "artifact")]
    pub base_image: Option<String>,
    /// Roll each development build out to `NAMESPACE[/DEPLOYMENT]` (repeatable; the
    /// deployment defaults to the application's id).
    #[arg(long)]
    pub auto_deploy: Vec<String>,
}

/// `ferry builds …`.
#[derive(Debug, Subcommand)]
pub enum BuildsCommand {
    /// List an application's builds.
    List {
        /// The application id.
        application: String,
        /// An AIP-160 filter.
        #[arg(long, default_value = "")]
        filter: String,
        /// Most items to show (0: all).
        #[arg(long, default_value_t = 0)]
        limit: usize,
    },
    /// Show a build (`<application>/<build>` or its full name).
    Get {
        /// The build.
        build: String,
    },
    /// Start a build and follow it with a progress bar (unless --no-wait).
    Start {
        /// The application id.
        application: String,
        /// The ref to build (default: the application's).
        #[arg(long = "ref")]
        git_ref: Option<String>,
    },
    /// Cancel a queued or running build.
    Cancel {
        /// The build (`<application>/<build>`).
        build: String,
    },
    /// Print a build's log.
    Logs {
        /// The build (`<application>/<build>`).
        build: String,
        /// Keep printing until the build ends.
        #[arg(long, short = 'f')]
        follow: bool,
    },
}

/// `ferry images …`.
#[derive(Debug, Subcommand)]
pub enum ImagesCommand {
    /// List an application's images.
    List {
        /// The application id.
        application: String,
        /// An AIP-160 filter.
        #[arg(long, default_value = "")]
        filter: String,
        /// Most items to show (0: all).
        #[arg(long, default_value_t = 0)]
        limit: usize,
    },
    /// Show an image (`<application>/<image>` or its full name).
    Get {
        /// The image.
        image: String,
    },
    /// Delete an image version.
    Delete {
        /// The image (`<application>/<image>`).
        image: String,
    },
}

/// `ferry promotions …`.
#[derive(Debug, Subcommand)]
pub enum PromotionsCommand {
    /// List an application's promotions.
    List {
        /// The application id.
        application: String,
    },
    /// Show a promotion (`<application>/<promotion>` or its full name).
    Get {
        /// The promotion.
        promotion: String,
    },
    /// Promote an image: deploy it to QA, then (after the gates) to production.
    Create {
        /// The application id.
        application: String,
        /// The image (`<image>` of the application, or its full name).
        #[arg(long)]
        image: String,
        /// The production namespace (needed when the application has several).
        #[arg(long)]
        to: Option<String>,
        /// The promotion id (default: chosen by Ferry).
        #[arg(long)]
        id: Option<String>,
    },
    /// Approve a promotion's QA gate.
    Approve {
        /// The promotion (`<application>/<promotion>`).
        promotion: String,
        /// A comment kept with the decision.
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Reject a promotion at QA.
    Reject {
        /// The promotion (`<application>/<promotion>`).
        promotion: String,
        /// A comment kept with the decision.
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Release an approved promotion to production; follows the rollout.
    Release {
        /// The promotion (`<application>/<promotion>`).
        promotion: String,
        /// A comment kept with the decision.
        #[arg(long, default_value = "")]
        comment: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_go_anywhere_and_create_flags_parse() {
        let cli = Cli::try_parse_from([
            "ferry",
            "deployments",
            "create",
            "web",
            "--image",
            "r/web@sha256:1",
            "-e",
            "A=1",
            "--port",
            "http:80",
            "-n",
            "dev",
            "-o",
            "json",
            "--no-wait",
        ])
        .unwrap();
        assert_eq!(cli.global.namespace.as_deref(), Some("dev"));
        assert_eq!(cli.global.output, Output::Json);
        assert!(cli.global.no_wait);
        let Command::Deployments(DeploymentsCommand::Create(args)) = cli.command else {
            panic!("parsed as another command");
        };
        assert_eq!(args.id.as_deref(), Some("web"));
        assert_eq!(args.env, ["A=1"]);
        assert_eq!(args.port, ["http:80"]);
    }

    #[test]
    fn routing_and_build_flags_parse() {
        let cli = Cli::try_parse_from([
            "ferry",
            "services",
            "create",
            "web",
            "--deployment",
            "web",
            "-p",
            "http=80:8080",
            "--type",
            "node-port",
            "--affinity",
            "client-ip",
            "-n",
            "dev",
        ])
        .unwrap();
        let Command::Services(ServicesCommand::Create(args)) = cli.command else {
            panic!("parsed as another command");
        };
        assert_eq!(args.service_type, Some(ServiceType::NodePort));
        assert_eq!(args.affinity, Some(Affinity::ClientIp));
        let cli = Cli::try_parse_from(["ferry", "blue-green", "switch", "shop", "--to", "green"])
            .unwrap();
        assert!(matches!(
            cli.command,
            Command::BlueGreen(BlueGreenCommand::Switch {
                to: Some(SideArg::Green),
                ..
            })
        ));
        let cli = Cli::try_parse_from(["ferry", "builds", "start", "web", "--no-wait"]).unwrap();
        assert!(cli.global.no_wait);
        // A Dockerfile and artifacts at once, or artifacts without a base image: refused.
        let error = Cli::try_parse_from([
            "ferry",
            "applications",
            "create",
            "web",
            "--git",
            "/srv/git/web",
            "--dockerfile",
            "Dockerfile",
            "--artifact",
            "bin/web",
        ])
        .unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::ArgumentConflict);
        let error = Cli::try_parse_from([
            "ferry",
            "applications",
            "create",
            "web",
            "--git",
            "/srv/git/web",
            "--artifact",
            "bin/web",
        ])
        .unwrap_err();
        assert_eq!(
            error.kind(),
            clap::error::ErrorKind::MissingRequiredArgument
        );
        let error = Cli::try_parse_from([
            "ferry",
            "external-entries",
            "create",
            "db",
            "--port",
            "pg=5432",
        ])
        .unwrap_err();
        assert_eq!(
            error.kind(),
            clap::error::ErrorKind::MissingRequiredArgument
        );
    }

    #[test]
    fn conflicting_or_missing_flags_are_usage_errors() {
        let error = Cli::try_parse_from([
            "ferry",
            "deployments",
            "create",
            "-f",
            "d.json",
            "--image",
            "x",
        ])
        .unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::ArgumentConflict);
        assert_eq!(error.exit_code(), crate::error::EXIT_USAGE);
        let error = Cli::try_parse_from(["ferry", "secrets", "create", "db"]).unwrap_err();
        assert_eq!(
            error.kind(),
            clap::error::ErrorKind::MissingRequiredArgument
        );
        let error =
            Cli::try_parse_from(["ferry", "deployments", "scale", "web", "many"]).unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::ValueValidation);
        assert!(Cli::try_parse_from(["ferry", "-o", "yaml", "hosts", "list"]).is_err());
    }
}
