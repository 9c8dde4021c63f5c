//! Runs each command against the gateway: connects with the context's token, calls the
//! generated clients, follows long-running operations with a progress bar, and prints
//! results as tables or proto JSON. Everything that can be pure lives in the other
//! modules.

use std::io::{IsTerminal as _, Read as _, Write as _};
use std::time::Duration;

use ferry_proto::ferry::auth::v1 as auth;
use ferry_proto::ferry::build::v1 as build;
use ferry_proto::ferry::catalog::v1 as catalog;
use ferry_proto::ferry::common::v1 as common;
use ferry_proto::ferry::deploy::v1 as deploy;
use ferry_proto::ferry::routing::v1 as routing;
use ferry_proto::tonic;
use indicatif::{ProgressBar, ProgressStyle};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use auth::token_service_client::TokenServiceClient;
use auth::user_service_client::UserServiceClient;
use build::application_service_client::ApplicationServiceClient;
use build::build_service_client::BuildServiceClient;
use build::image_service_client::ImageServiceClient;
use build::promotion_service_client::PromotionServiceClient;
use catalog::external_entry_service_client::ExternalEntryServiceClient;
use common::operations_service_client::OperationsServiceClient;
use deploy::autoscaling_service_client::AutoscalingServiceClient;
use deploy::deployment_service_client::DeploymentServiceClient;
use deploy::event_service_client::EventServiceClient;
use deploy::host_service_client::HostServiceClient;
use deploy::instance_service_client::InstanceServiceClient;
use deploy::namespace_service_client::NamespaceServiceClient;
use deploy::rollout_service_client::RolloutServiceClient;
use deploy::secret_service_client::SecretServiceClient;
use routing::blue_green_service_client::BlueGreenServiceClient;
use routing::routing_service_client::RoutingServiceClient;

use crate::cli::{
    ApplicationsCommand, AutoscalingCommand, BlueGreenCommand, BuildsCommand, Cli, Command,
    ContextCommand, DeploymentsCommand, EventsCommand, ExternalEntriesCommand, GlobalArgs,
    HostsCommand, ImagesCommand, InstancesCommand, ListArgs, LoginArgs, NamespacesCommand,
    OperationsCommand, Output, PromotionsCommand, RolloutsCommand, SecretsCommand, ServicesCommand,
    TokensCommand, UpdateArgs,
};
use crate::config::{self, Config, Context, DEFAULT_CONTEXT, Env, Resolved};
use crate::error::{CliError, status_from_proto};
use crate::json::{ProtoName, to_json};
use crate::render::{self, Table};
use crate::request;

/// Adds `authorization: Bearer <token>` to every call (nothing when there is no token:
/// the gateway then answers UNAUTHENTICATED, which the CLI explains).
#[derive(Clone)]
struct Bearer(Option<MetadataValue<Ascii>>);

impl Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

type Service = InterceptedService<Channel, Bearer>;

/// A connection to the gateway, authenticated with the resolved token.
struct Gateway {
    service: Service,
}

impl Gateway {
    async fn connect(address: &str, token: Option<&str>) -> Result<Self, CliError> {
        let bearer = match token {
            Some(token) => {
                let mut value: MetadataValue<Ascii> =
                    format!("Bearer {token}").parse().map_err(|_| {
                        CliError::config(
                            "the token holds characters that cannot be sent",
                            "check the token (no spaces or line breaks inside), then run `ferry \
                             login` again",
                        )
                    })?;
                value.set_sensitive(true);
                Bearer(Some(value))
            }
            None => Bearer(None),
        };
        let connect_error = |detail: String| CliError::Connect {
            address: address.to_string(),
            detail,
        };
        let channel = Channel::from_shared(address.to_string())
            .map_err(|error| connect_error(format!("not a valid address: {error}")))?
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .map_err(|error| connect_error(transport_detail(&error)))?;
        Ok(Self {
            service: InterceptedService::new(channel, bearer),
        })
    }

    fn namespaces(&self) -> NamespaceServiceClient<Service> {
        NamespaceServiceClient::new(self.service.clone())
    }
    fn deployments(&self) -> DeploymentServiceClient<Service> {
        DeploymentServiceClient::new(self.service.clone())
    }
    fn autoscaling(&self) -> AutoscalingServiceClient<Service> {
        AutoscalingServiceClient::new(self.service.clone())
    }
    fn rollouts(&self) -> RolloutServiceClient<Service> {
        RolloutServiceClient::new(self.service.clone())
    }
    fn instances(&self) -> InstanceServiceClient<Service> {
        InstanceServiceClient::new(self.service.clone())
    }
    fn events(&self) -> EventServiceClient<Service> {
        EventServiceClient::new(self.service.clone())
    }
    fn hosts(&self) -> HostServiceClient<Service> {
        HostServiceClient::new(self.service.clone())
    }
    fn secrets(&self) -> SecretServiceClient<Service> {
        SecretServiceClient::new(self.service.clone())
    }
    fn tokens(&self) -> TokenServiceClient<Service> {
        TokenServiceClient::new(self.service.clone())
    }
    fn users(&self) -> UserServiceClient<Service> {
        UserServiceClient::new(self.service.clone())
    }
    fn operations(&self) -> OperationsServiceClient<Service> {
        OperationsServiceClient::new(self.service.clone())
    }
    fn services(&self) -> RoutingServiceClient<Service> {
        RoutingServiceClient::new(self.service.clone())
    }
    fn external_entries(&self) -> ExternalEntryServiceClient<Service> {
        ExternalEntryServiceClient::new(self.service.clone())
    }
    fn blue_green(&self) -> BlueGreenServiceClient<Service> {
        BlueGreenServiceClient::new(self.service.clone())
    }
    fn applications(&self) -> ApplicationServiceClient<Service> {
        ApplicationServiceClient::new(self.service.clone())
    }
    fn builds(&self) -> BuildServiceClient<Service> {
        BuildServiceClient::new(self.service.clone())
    }
    fn images(&self) -> ImageServiceClient<Service> {
        ImageServiceClient::new(self.service.clone())
    }
    fn promotions(&self) -> PromotionServiceClient<Service> {
        PromotionServiceClient::new(self.service.clone())
    }
}

/// The transport error with its causes (tonic's top-level text is just "transport error").
fn transport_detail(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    parts.join(": ")
}

/// Wraps a call's status with what the CLI was doing.
fn api(action: impl Into<String>) -> impl FnOnce(tonic::Status) -> CliError {
    let action = action.into();
    move |status| CliError::Api { action, status }
}

/// Prints results in the chosen format.
struct Printer {
    output: Output,
}

impl Printer {
    fn one<M: ProtoName + Clone>(&self, item: &M, table: fn(&[M]) -> Table) {
        match self.output {
            Output::Table => print!("{}", table(std::slice::from_ref(item)).render()),
            Output::Json => println!("{}", pretty(&to_json(item))),
        }
    }

    fn list<M: ProtoName>(&self, items: &[M], table: fn(&[M]) -> Table) {
        match self.output {
            Output::Table => print!("{}", table(items).render()),
            Output::Json => {
                let values: Vec<serde_json::Value> = items.iter().map(to_json).collect();
                println!("{}", pretty(&serde_json::Value::Array(values)));
            }
        }
    }

    /// A one-line confirmation (table) or `{}` (JSON, for calls that return Empty).
    fn done(&self, message: &str) {
        match self.output {
            Output::Table => println!("{message}"),
            Output::Json => println!("{{}}"),
        }
    }
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).expect("a JSON value prints")
}

/// Fetches every page of a list call (up to `limit` items when it is not 0).
macro_rules! list_all {
    ($client:expr, $method:ident, $request:expr, $field:ident, $limit:expr, $action:expr) => {{
        let mut request = $request;
        let limit: usize = $limit;
        let mut items = Vec::new();
        loop {
            let response = $client
                .$method(request.clone())
                .await
                .map_err(api($action))?
                .into_inner();
            items.extend(response.$field);
            if response.next_page_token.is_empty() || (limit > 0 && items.len() >= limit) {
                break;
            }
            request.page_token = response.next_page_token;
        }
        if limit > 0 {
            items.truncate(limit);
        }
        items
    }};
}

/// Reads a resource, applies an [`UpdateArgs`]' edits and writes it back with the etag it
/// read and the top-level fields edited as the update mask; evaluates to the answer.
macro_rules! update_resource {
    ($client:expr, $args:expr, $name:expr,
     $get:ident($get_request:expr), $update:ident($($request:ident)::+ { $field:ident })) => {{
        let name: String = $name;
        let args: &UpdateArgs = &$args;
        let current = $client
            .$get($get_request)
            .await
            .map_err(api(format!("get {name}")))?
            .into_inner();
        let (edited, paths) = crate::json::set_fields(&current, &args.set).map_err(|error| {
            CliError::usage(format!(
                "--set {error} (`get {} -o json` shows the fields)",
                args.id
            ))
        })?;
        // Some update requests have more fields (e.g. `allow_missing`), left at defaults.
        #[allow(clippy::needless_update)]
        let request = $($request)::+ {
            $field: Some(edited),
            update_mask: Some(ferry_proto::prost_types::FieldMask { paths }),
            request_id: uuid::Uuid::new_v4().to_string(),
            validate_only: args.validate_only,
            ..Default::default()
        };
        $client
            .$update(request)
            .await
            .map_err(api(format!("update {name}")))?
            .into_inner()
    }};
}

/// Runs one command.
pub async fn run(cli: Cli, env: &Env) -> Result<(), CliError> {
    let Cli { global, command } = cli;
    let printer = Printer {
        output: global.output,
    };
    match command {
        Command::Login(args) => login(&global, args, env, &printer).await,
        Command::Context(command) => context(&global, command, env, &printer),
        command => {
            let path = config::config_path(env)?;
            let resolved = Config::load(&path)?.resolve(
                global.context.as_deref(),
                global.namespace.as_deref(),
                env,
            )?;
            let gateway = Gateway::connect(&resolved.gateway, resolved.token.as_deref()).await?;
            let session = Session {
                gateway,
                resolved,
                printer,
                no_wait: global.no_wait,
            };
            session.dispatch(command).await
        }
    }
}

async fn login(
    global: &GlobalArgs,
    args: LoginArgs,
    env: &Env,
    printer: &Printer,
) -> Result<(), CliError> {
    let path = config::config_path(env)?;
    let mut config = Config::load(&path)?;
    let name = global
        .context
        .clone()
        .or_else(|| config.current_context.clone())
        .unwrap_or_else(|| DEFAULT_CONTEXT.to_string());
    let existing = config.contexts.get(&name).cloned().unwrap_or_default();
    let gateway = args
        .gateway
        .or_else(|| env.get("FERRY_GATEWAY").cloned().filter(|g| !g.is_empty()))
        .or_else(|| Some(existing.gateway.clone()).filter(|g| !g.is_empty()))
        .map(|gateway| config::normalize_gateway(&gateway))
        .ok_or_else(|| CliError::usage("--gateway is required for a new context"))?;
    let token = match (args.token, args.token_file) {
        (Some(token), _) => token,
        (None, Some(file)) => std::fs::read_to_string(&file).map_err(|error| {
            CliError::config(
                format!("cannot read the token file {}: {error}", file.display()),
                "check the path and its permissions",
            )
        })?,
        (None, None) => {
            let mut stdin = std::io::stdin();
            if stdin.is_terminal() {
                eprint!("token: ");
                let _ = std::io::stderr().flush();
            }
            let mut token = String::new();
            stdin.read_to_string(&mut token).map_err(|error| {
                CliError::config(
                    format!("cannot read the token from stdin: {error}"),
                    "pass --token-file",
                )
            })?;
            token
        }
    };
    let token = token.trim().to_string();
    if token.is_empty() {
        return Err(CliError::usage(
            "the token is empty: give it with --token-file <file>, --token, or on stdin",
        ));
    }
    // Check the token before keeping it: a typo is found now, not at the next command.
    let gateway_connection = Gateway::connect(&gateway, Some(&token)).await?;
    let identity = gateway_connection
        .users()
        .get_caller_identity(auth::GetCallerIdentityRequest::default())
        .await
        .map_err(api(format!("log in to {gateway}")))?
        .into_inner();
    config.contexts.insert(
        name.clone(),
        Context {
            gateway: gateway.clone(),
            namespace: global.namespace.clone().or(existing.namespace),
            token: Some(token),
        },
    );
    config.current_context = Some(name.clone());
    config.save(&path)?;
    match printer.output {
        Output::Table => println!(
            "logged in to {gateway} as {} (context {name}, saved in {})",
            identity.principal,
            path.display()
        ),
        Output::Json => println!("{}", pretty(&to_json(&identity))),
    }
    Ok(())
}

fn context(
    global: &GlobalArgs,
    command: ContextCommand,
    env: &Env,
    printer: &Printer,
) -> Result<(), CliError> {
    let path = config::config_path(env)?;
    let mut config = Config::load(&path)?;
    let missing = |name: &str| {
        CliError::config(
            format!("no context named {name:?}"),
            "`ferry context list` shows the contexts; `ferry login --context <name>` adds one",
        )
    };
    match command {
        ContextCommand::List => {
            let current = config.current_context.clone().unwrap_or_default();
            match printer.output {
                Output::Table => {
                    let mut table =
                        Table::new(&["CURRENT", "NAME", "GATEWAY", "NAMESPACE", "TOKEN"]);
                    for (name, context) in &config.contexts {
                        table.row(vec![
                            if *name == current { "*" } else { "" }.to_string(),
                            name.clone(),
                            context.gateway.clone(),
                            context.namespace.clone().unwrap_or_default(),
                            if context.token.is_some() { "set" } else { "" }.to_string(),
                        ]);
                    }
                    print!("{}", table.render());
                }
                Output::Json => {
                    let items: Vec<serde_json::Value> = config
                        .contexts
                        .iter()
                        .map(|(name, context)| {
                            serde_json::json!({
                                "name": name,
                                "current": *name == current,
                                "gateway": context.gateway,
                                "namespace": context.namespace,
                                "hasToken": context.token.is_some(),
                            })
                        })
                        .collect();
                    println!("{}", pretty(&serde_json::Value::Array(items)));
                }
            }
            Ok(())
        }
        ContextCommand::Use { name } => {
            if !config.contexts.contains_key(&name) {
                return Err(missing(&name));
            }
            config.current_context = Some(name.clone());
            config.save(&path)?;
            printer.done(&format!("now using context {name}"));
            Ok(())
        }
        ContextCommand::SetNamespace { namespace } => {
            let name = global
                .context
                .clone()
                .or_else(|| config.current_context.clone())
                .ok_or_else(|| {
                    CliError::config("there is no current context", "run `ferry login` first")
                })?;
            let context = config
                .contexts
                .get_mut(&name)
                .ok_or_else(|| missing(&name))?;
            let id = namespace.strip_prefix("namespaces/").unwrap_or(&namespace);
            context.namespace = Some(id.to_string());
            config.save(&path)?;
            printer.done(&format!("context {name} now uses namespace {id}"));
            Ok(())
        }
    }
}

/// One command's connection and settings.
struct Session {
    gateway: Gateway,
    resolved: Resolved,
    printer: Printer,
    no_wait: bool,
}

impl Session {
    fn namespace(&self) -> Option<&str> {
        self.resolved.namespace.as_deref()
    }

    async fn dispatch(&self, command: Command) -> Result<(), CliError> {
        match command {
            Command::Login(_) | Command::Context(_) => unreachable!("handled without a session"),
            Command::Namespaces(command) => self.namespaces(command).await,
            Command::Deployments(command) => self.deployments(command).await,
            Command::Autoscaling(command) => self.autoscaling(command).await,
            Command::Rollouts(command) => self.rollouts(command).await,
            Command::Instances(command) => self.instances(command).await,
            Command::Events(command) => self.events(command).await,
            Command::Hosts(command) => self.hosts(command).await,
            Command::Secrets(command) => self.secrets(command).await,
            Command::Services(command) => self.services(command).await,
            Command::ExternalEntries(command) => self.external_entries(command).await,
            Command::BlueGreen(command) => self.blue_green(command).await,
            Command::Applications(command) => self.applications(command).await,
            Command::Builds(command) => self.builds(command).await,
            Command::Images(command) => self.images(command).await,
            Command::Promotions(command) => self.promotions(command).await,
            Command::Tokens(command) => self.tokens(command).await,
            Command::Operations(command) => self.operations(command).await,
        }
    }

    async fn namespaces(&self, command: NamespacesCommand) -> Result<(), CliError> {
        let mut client = self.gateway.namespaces();
        match command {
            NamespacesCommand::List(ListArgs { filter, limit }) => {
                let items = list_all!(
                    client,
                    list_namespaces,
                    deploy::ListNamespacesRequest {
                        filter,
                        ..Default::default()
                    },
                    namespaces,
                    limit,
                    "list namespaces"
                );
                self.printer.list(&items, render::namespaces);
            }
            NamespacesCommand::Get { id } => {
                let name = request::namespace_name(&id);
                let item = client
                    .get_namespace(deploy::GetNamespaceRequest { name: name.clone() })
                    .await
                    .map_err(api(format!("get {name}")))?
                    .into_inner();
                self.printer.one(&item, render::namespaces);
            }
            NamespacesCommand::Create {
                id,
                description,
                display_name,
            } => {
                let item = client
                    .create_namespace(deploy::CreateNamespaceRequest {
                        namespace_id: id.clone(),
                        namespace: Some(deploy::Namespace {
                            description,
                            display_name,
                            ..Default::default()
                        }),
                        request_id: uuid::Uuid::new_v4().to_string(),
                        validate_only: false,
                    })
                    .await
                    .map_err(api(format!("create namespace {id}")))?
                    .into_inner();
                self.printer.one(&item, render::namespaces);
            }
            NamespacesCommand::Update(args) => {
                let name = request::namespace_name(&args.id);
                let item = update_resource!(
                    client,
                    args,
                    name.clone(),
                    get_namespace(deploy::GetNamespaceRequest { name }),
                    update_namespace(deploy::UpdateNamespaceRequest { namespace })
                );
                self.printer.one(&item, render::namespaces);
            }
            NamespacesCommand::Delete { id, force } => {
                let name = request::namespace_name(&id);
                let operation = client
                    .delete_namespace(deploy::DeleteNamespaceRequest {
                        name: name.clone(),
                        force,
                        request_id: uuid::Uuid::new_v4().to_string(),
                        ..Default::default()
                    })
                    .await
                    .map_err(api(format!("delete {name}")))?
                    .into_inner();
                self.follow(operation).await?;
            }
        }
        Ok(())
    }

    async fn deployments(&self, command: DeploymentsCommand) -> Result<(), CliError> {
        let mut client = self.gateway.deployments();
        let name = |id: &str| request::resource_name(self.namespace(), "deployments", id);
        match command {
            DeploymentsCommand::List(ListArgs { filter, limit }) => {
                let parent = request::require_namespace(self.namespace())?;
                let items = list_all!(
                    client,
                    list_deployments,
                    deploy::ListDeploymentsRequest {
                        parent: parent.clone(),
                        filter,
                        ..Default::default()
                    },
                    deployments,
                    limit,
                    format!("list deployments of {parent}")
                );
                self.printer.list(&items, render::deployments);
            }
            DeploymentsCommand::Get { id } => {
                let name = name(&id)?;
                let item = client
                    .get_deployment(deploy::GetDeploymentRequest { name: name.clone() })
                    .await
                    .map_err(api(format!("get {name}")))?
                    .into_inner();
                self.printer.one(&item, render::deployments);
            }
            DeploymentsCommand::Create(args) => {
                let file_text = match &args.file {
                    Some(path) => Some(std::fs::read_to_string(path).map_err(|error| {
                        CliError::config(
                            format!("cannot read {}: {error}", path.display()),
                            "check the path given with -f",
                        )
                    })?),
                    None => None,
                };
                let request =
                    request::create_deployment(self.namespace(), &args, file_text.as_deref())?;
                let action = format!(
                    "create deployment {}/deployments/{}",
                    request.parent, request.deployment_id
                );
                let operation = client
                    .create_deployment(request)
                    .await
                    .map_err(api(action))?
                    .into_inner();
                self.follow(operation).await?;
            }
            DeploymentsCommand::Update(args) => {
                let name = name(&args.id)?;
                let current = client
                    .get_deployment(deploy::GetDeploymentRequest { name: name.clone() })
                    .await
                    .map_err(api(format!("get {name}")))?
                    .into_inner();
                let request = request::update_deployment(current, &args)?;
                let operation = client
                    .update_deployment(request)
                    .await
                    .map_err(api(format!("update {name}")))?
                    .into_inner();
                self.follow(operation).await?;
            }
            DeploymentsCommand::Scale { id, replicas } => {
                let name = name(&id)?;
                let operation = client
                    .scale_deployment(deploy::ScaleDeploymentRequest {
                        name: name.clone(),
                        replicas,
                        request_id: uuid::Uuid::new_v4().to_string(),
                        ..Default::default()
                    })
                    .await
                    .map_err(api(format!("scale {name} to {replicas}")))?
                    .into_inner();
                self.follow(operation).await?;
            }
            DeploymentsCommand::Delete { id } => {
                let name = name(&id)?;
                let operation = client
                    .delete_deployment(deploy::DeleteDeploymentRequest {
                        name: name.clone(),
                        request_id: uuid::Uuid::new_v4().to_string(),
                        ..Default::default()
                    })
                    .await
                    .map_err(api(format!("delete {name}")))?
                    .into_inner();
                self.follow(operation).await?;
            }
            DeploymentsCommand::Revisions { id } => {
                let parent = name(&id)?;
                let items = list_all!(
                    client,
                    list_deployment_revisions,
                    deploy::ListDeploymentRevisionsRequest {
                        parent: parent.clone(),
                        ..Default::default()
                    },
                    deployment_revisions,
                    0,
                    format!("list revisions of {parent}")
                );
                self.printer.list(&items, render::revisions);
            }
            DeploymentsCommand::Rollback { id, to, force } => {
                let name = name(&id)?;
                let revision = request::revision_name(&name, &to)?;
                let operation = self
                    .gateway
                    .rollouts()
                    .rollback_deployment(deploy::RollbackDeploymentRequest {
                        name: name.clone(),
                        revision: revision.clone(),
                        force,
                        request_id: uuid::Uuid::new_v4().to_string(),
                        ..Default::default()
                    })
                    .await
                    .map_err(api(format!("roll {name} back to {revision}")))?
                    .into_inner();
                self.follow(operation).await?;
            }
        }
        Ok(())
    }

    async fn autoscaling(&self, command: AutoscalingCommand) -> Result<(), CliError> {
        let mut client = self.gateway.autoscaling();
        let name = |id: &str| {
            request::resource_name(self.namespace(), "deployments", id)
                .map(|deployment| format!("{deployment}/autoscalingPolicy"))
        };
        match command {
            AutoscalingCommand::Get { deployment } => {
                let name = name(&deployment)?;
                let item = client
                    .get_autoscaling_policy(deploy::GetAutoscalingPolicyRequest {
                        name: name.clone(),
                    })
                    .await
                    .map_err(api(format!("get {name}")))?
                    .into_inner();
                self.printer.one(&item, render::autoscaling_policies);
            }
            AutoscalingCommand::Set(args) => {
                let name = name(&args.deployment)?;
                let current = match client
                    .get_autoscaling_policy(deploy::GetAutoscalingPolicyRequest {
                        name: name.clone(),
                    })
                    .await
                {
                    Ok(current) => Some(current.into_inner()),
                    Err(status) if status.code() == tonic::Code::NotFound => None,
                    Err(status) => return Err(api(format!("get {name}"))(status)),
                };
                let request = request::set_autoscaling(name.clone(), current.as_ref(), &args)?;
                let item = client
                    .update_autoscaling_policy(request)
                    .await
                    .map_err(api(format!("set {name}")))?
                    .into_inner();
                self.printer.one(&item, render::autoscaling_policies);
            }
            AutoscalingCommand::Delete { deployment } => {
                let name = name(&deployment)?;
                client
                    .delete_autoscaling_policy(deploy::DeleteAutoscalingPolicyRequest {
                        name: name.clone(),
                        request_id: uuid::Uuid::new_v4().to_string(),
                        ..Default::default()
                    })
                    .await
                    .map_err(api(format!("delete {name}")))?;
                self.printer.done(&format!("deleted {name}"));
            }
        }
        Ok(())
    }

    async fn rollouts(&self, command: RolloutsCommand) -> Result<(), CliError> {
        let mut client = self.gateway.rollouts();
        let name = |spec: &str| request::deployment_child_name(self.namespace(), "rollouts", spec);
        let item = match command {
            RolloutsCommand::List { deployment } => {
                let parent = request::resource_name(self.namespace(), "deployments", &deployment)?;
                let items = list_all!(
                    client,
                    list_rollouts,
                    deploy::ListRolloutsRequest {
                        parent: parent.clone(),
                        ..Default::default()
                    },
                    rollouts,
                    0,
                    format!("list rollouts of {parent}")
                );
                self.printer.list(&items, render::rollouts);
                return Ok(());
            }
            RolloutsCommand::Get { rollout } => {
                let name = name(&rollout)?;
                client
                    .get_rollout(deploy::GetRolloutRequest { name: name.clone() })
                    .await
                    .map_err(api(format!("get {name}")))?
            }
            RolloutsCommand::Pause { rollout } => {
                let name = name(&rollout)?;
                client
                    .pause_rollout(deploy::PauseRolloutRequest {
                        name: name.clone(),
                        request_id: uuid::Uuid::new_v4().to_string(),
                        ..Default::default()
                    })
                    .await
                    .map_err(api(format!("pause {name}")))?
            }
            RolloutsCommand::Resume { rollout } => {
                let name = name(&rollout)?;
                client
                    .resume_rollout(deploy::ResumeRolloutRequest {
                        name: name.clone(),
                        request_id: uuid::Uuid::new_v4().to_string(),
                        ..Default::default()
                    })
                    .await
                    .map_err(api(format!("resume {name}")))?
            }
            RolloutsCommand::Abort { rollout } => {
                let name = name(&rollout)?;
                client
                    .abort_rollout(deploy::AbortRolloutRequest {
                        name: name.clone(),
                        request_id: uuid::Uuid::new_v4().to_string(),
                        ..Default::default()
                    })
                    .await
                    .map_err(api(format!("abort {name}")))?
            }
        };
        self.printer.one(&item.into_inner(), render::rollouts);
        Ok(())
    }

    async fn instances(&self, command: InstancesCommand) -> Result<(), CliError> {
        let mut client = self.gateway.instances();
        let name = |spec: &str| request::deployment_child_name(self.namespace(), "instances", spec);
        match command {
            InstancesCommand::List { deployment } => {
                let parent = request::resource_name(self.namespace(), "deployments", &deployment)?;
                let items = list_all!(
                    client,
                    list_instances,
                    deploy::ListInstancesRequest {
                        parent: parent.clone(),
                        ..Default::default()
                    },
                    instances,
                    0,
                    format!("list instances of {parent}")
                );
                self.printer.list(&items, render::instances);
            }
            InstancesCommand::Logs {
                instance,
                follow,
                tail,
            } => {
                let name = name(&instance)?;
                let mut stream = client
                    .stream_instance_logs(deploy::StreamInstanceLogsRequest {
                        name: name.clone(),
                        follow,
                        tail_lines: tail.unwrap_or(0),
                        ..Default::default()
                    })
                    .await
                    .map_err(api(format!("read the logs of {name}")))?
                    .into_inner();
                let mut stdout = std::io::stdout();
                while let Some(response) = stream
                    .message()
                    .await
                    .map_err(api(format!("read the logs of {name}")))?
                {
                    if let Some(chunk) = response.chunk {
                        // A closed pipe (`| head`) ends the command quietly.
                        if stdout
                            .write_all(&chunk.data)
                            .and_then(|()| stdout.flush())
                            .is_err()
                        {
                            break;
                        }
                    }
                }
            }
            InstancesCommand::Restart { instance } => {
                let name = name(&instance)?;
                let operation = client
                    .restart_instance(deploy::RestartInstanceRequest {
                        name: name.clone(),
                        request_id: uuid::Uuid::new_v4().to_string(),
                        ..Default::default()
                    })
                    .await
                    .map_err(api(format!("restart {name}")))?
                    .into_inner();
                self.follow(operation).await?;
            }
            InstancesCommand::Delete { instance } => {
                let name = name(&instance)?;
                client
                    .delete_instance(deploy::DeleteInstanceRequest {
                        name: name.clone(),
                        request_id: uuid::Uuid::new_v4().to_string(),
                        ..Default::default()
                    })
                    .await
                    .map_err(api(format!("delete {name}")))?;
                self.printer.done(&format!("deleted {name}"));
            }
        }
        Ok(())
    }

    async fn events(&self, command: EventsCommand) -> Result<(), CliError> {
        let mut client = self.gateway.events();
        let parent = request::require_namespace(self.namespace())?;
        match command {
            EventsCommand::List(ListArgs { filter, limit }) => {
                let items = list_all!(
                    client,
                    list_events,
                    deploy::ListEventsRequest {
                        parent: parent.clone(),
                        filter,
                        ..Default::default()
                    },
                    events,
                    limit,
                    format!("list events of {parent}")
                );
                self.printer.list(&items, render::events);
            }
            EventsCommand::Watch { filter } => {
                let action = format!("watch events of {parent}");
                let mut stream = client
                    .watch_events(deploy::WatchEventsRequest {
                        parent: parent.clone(),
                        filter,
                        ..Default::default()
                    })
                    .await
                    .map_err(api(action.clone()))?
                    .into_inner();
                let mut header = true;
                while let Some(response) = stream.message().await.map_err(api(action.clone()))? {
                    let Some(event) = response.event else {
                        continue;
                    };
                    match self.printer.output {
                        Output::Json => println!("{}", to_json(&event)),
                        Output::Table => {
                            let text = render::events(&[event]).render();
                            let mut lines = text.lines();
                            let head = lines.next().unwrap_or_default();
                            if header {
                                println!("{head}");
                                header = false;
                            }
                            for line in lines {
                                println!("{line}");
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    async fn hosts(&self, command: HostsCommand) -> Result<(), CliError> {
        let mut client = self.gateway.hosts();
        let item = match command {
            HostsCommand::List(ListArgs { filter, limit }) => {
                let items = list_all!(
                    client,
                    list_hosts,
                    deploy::ListHostsRequest {
                        filter,
                        ..Default::default()
                    },
                    hosts,
                    limit,
                    "list hosts"
                );
                self.printer.list(&items, render::hosts);
                return Ok(());
            }
            HostsCommand::Cordon { host, reason } => {
                let name = request::top_level_name("hosts", &host);
                client
                    .cordon_host(deploy::CordonHostRequest {
                        name: name.clone(),
                        reason,
                        request_id: uuid::Uuid::new_v4().to_string(),
                        ..Default::default()
                    })
                    .await
                    .map_err(api(format!("cordon {name}")))?
            }
            HostsCommand::Uncordon { host } => {
                let name = request::top_level_name("hosts", &host);
                client
                    .uncordon_host(deploy::UncordonHostRequest {
                        name: name.clone(),
                        request_id: uuid::Uuid::new_v4().to_string(),
                        ..Default::default()
                    })
                    .await
                    .map_err(api(format!("uncordon {name}")))?
            }
        };
        self.printer.one(&item.into_inner(), render::hosts);
        Ok(())
    }

    async fn secrets(&self, command: SecretsCommand) -> Result<(), CliError> {
        let mut client = self.gateway.secrets();
        match command {
            SecretsCommand::List(ListArgs { filter, limit }) => {
                let parent = request::require_namespace(self.namespace())?;
                let items = list_all!(
                    client,
                    list_secrets,
                    deploy::ListSecretsRequest {
                        parent: parent.clone(),
                        filter,
                        ..Default::default()
                    },
                    secrets,
                    limit,
                    format!("list secrets of {parent}")
                );
                self.printer.list(&items, render::secrets);
            }
            SecretsCommand::Create { id, from_literal } => {
                let request = request::create_secret(self.namespace(), &id, &from_literal)?;
                let action = format!("create secret {}/secrets/{id}", request.parent);
                let item = client
                    .create_secret(request)
                    .await
                    .map_err(api(action))?
                    .into_inner();
                self.printer.one(&item, render::secrets);
            }
            SecretsCommand::Delete { id, force } => {
                let name = request::resource_name(self.namespace(), "secrets", &id)?;
                client
                    .delete_secret(deploy::DeleteSecretRequest {
                        name: name.clone(),
                        force,
                        request_id: uuid::Uuid::new_v4().to_string(),
                        ..Default::default()
                    })
                    .await
                    .map_err(api(format!("delete {name}")))?;
                self.printer.done(&format!("deleted {name}"));
            }
        }
        Ok(())
    }

    async fn tokens(&self, command: TokensCommand) -> Result<(), CliError> {
        let mut client = self.gateway.tokens();
        match command {
            TokensCommand::List(ListArgs { filter, limit }) => {
                let items = list_all!(
                    client,
                    list_tokens,
                    auth::ListTokensRequest {
                        filter,
                        ..Default::default()
                    },
                    tokens,
                    limit,
                    "list tokens"
                );
                self.printer.list(&items, render::tokens);
            }
            TokensCommand::Create {
                id,
                roles,
                namespaces,
                ttl_seconds,
            } => {
                let request = request::create_token(&id, &roles, &namespaces, ttl_seconds)?;
                let response = client
                    .create_token(request)
                    .await
                    .map_err(api(format!("create token {id}")))?
                    .into_inner();
                match self.printer.output {
                    Output::Json => println!("{}", pretty(&to_json(&response))),
                    Output::Table => {
                        let token = response.token.clone().unwrap_or_default();
                        print!("{}", render::tokens(&[token]).render());
                        // The secret is the point of this command: shown once, on stdout.
                        println!("secret (shown once, store it now): {}", response.secret);
                    }
                }
            }
            TokensCommand::Revoke { id, reason } => {
                let name = request::top_level_name("tokens", &id);
                let item = client
                    .revoke_token(auth::RevokeTokenRequest {
                        name: name.clone(),
                        reason,
                        request_id: uuid::Uuid::new_v4().to_string(),
                        ..Default::default()
                    })
                    .await
                    .map_err(api(format!("revoke {name}")))?
                    .into_inner();
                self.printer.one(&item, render::tokens);
            }
        }
        Ok(())
    }

    async fn services(&self, command: ServicesCommand) -> Result<(), CliError> {
        let mut client = self.gateway.services();
        let name = |id: &str| request::resource_name(self.namespace(), "services", id);
        match command {
            ServicesCommand::List(ListArgs { filter, limit }) => {
                let parent = request::require_namespace(self.namespace())?;
                let items = list_all!(
                    client,
                    list_services,
                    routing::ListServicesRequest {
                        parent: parent.clone(),
                        filter,
                        ..Default::default()
                    },
                    services,
                    limit,
                    format!("list services of {parent}")
                );
                self.printer.list(&items, render::services);
            }
            ServicesCommand::Get { id } => {
                let name = name(&id)?;
                let item = client
                    .get_service(routing::GetServiceRequest { name: name.clone() })
                    .await
                    .map_err(api(format!("get {name}")))?
                    .into_inner();
                self.printer.one(&item, render::services);
            }
            ServicesCommand::Create(args) => {
                let request = request::create_service(self.namespace(), &args)?;
                let action = format!(
                    "create service {}/services/{}",
                    request.parent, request.service_id
                );
                let item = client
                    .create_service(request)
                    .await
                    .map_err(api(action))?
                    .into_inner();
                self.printer.one(&item, render::services);
            }
            ServicesCommand::Update(args) => {
                let name = name(&args.id)?;
                let item = update_resource!(
                    client,
                    args,
                    name.clone(),
                    get_service(routing::GetServiceRequest { name }),
                    update_service(routing::UpdateServiceRequest { service })
                );
                self.printer.one(&item, render::services);
            }
            ServicesCommand::Delete { id } => {
                let name = name(&id)?;
                client
                    .delete_service(routing::DeleteServiceRequest {
                        name: name.clone(),
                        request_id: uuid::Uuid::new_v4().to_string(),
                        ..Default::default()
                    })
                    .await
                    .map_err(api(format!("delete {name}")))?;
                self.printer.done(&format!("deleted {name}"));
            }
            ServicesCommand::Endpoints { id } => {
                let name = name(&id)?;
                let mut request = routing::ListServiceEndpointsRequest {
                    name: name.clone(),
                    ..Default::default()
                };
                let mut items = Vec::new();
                loop {
                    let response = client
                        .list_service_endpoints(request.clone())
                        .await
                        .map_err(api(format!("list endpoints of {name}")))?
                        .into_inner();
                    items.extend(response.endpoints);
                    if response.next_page_token.is_empty() {
                        break;
                    }
                    request.page_token = response.next_page_token;
                }
                self.printer.list(&items, render::endpoints);
            }
        }
        Ok(())
    }

    async fn external_entries(&self, command: ExternalEntriesCommand) -> Result<(), CliError> {
        let mut client = self.gateway.external_entries();
        let name = |id: &str| request::resource_name(self.namespace(), "externalEntries", id);
        match command {
            ExternalEntriesCommand::List(ListArgs { filter, limit }) => {
                let parent = request::require_namespace(self.namespace())?;
                let items = list_all!(
                    client,
                    list_external_entries,
                    catalog::ListExternalEntriesRequest {
                        parent: parent.clone(),
                        filter,
                        ..Default::default()
                    },
                    external_entries,
                    limit,
                    format!("list external entries of {parent}")
                );
                self.printer.list(&items, render::external_entries);
            }
            ExternalEntriesCommand::Get { id } => {
                let name = name(&id)?;
                let item = client
                    .get_external_entry(catalog::GetExternalEntryRequest { name: name.clone() })
                    .await
                    .map_err(api(format!("get {name}")))?
                    .into_inner();
                self.printer.one(&item, render::external_entries);
            }
            ExternalEntriesCommand::Create(args) => {
                let request = request::create_external_entry(self.namespace(), &args)?;
                let action = format!(
                    "create external entry {}/externalEntries/{}",
                    request.parent, request.external_entry_id
                );
                let item = client
                    .create_external_entry(request)
                    .await
                    .map_err(api(action))?
                    .into_inner();
                self.printer.one(&item, render::external_entries);
            }
            ExternalEntriesCommand::Update(args) => {
                let name = name(&args.id)?;
                let item = update_resource!(
                    client,
                    args,
                    name.clone(),
                    get_external_entry(catalog::GetExternalEntryRequest { name }),
                    update_external_entry(catalog::UpdateExternalEntryRequest { external_entry })
                );
                self.printer.one(&item, render::external_entries);
            }
            ExternalEntriesCommand::Delete { id } => {
                let name = name(&id)?;
                client
                    .delete_external_entry(catalog::DeleteExternalEntryRequest {
                        name: name.clone(),
                        request_id: uuid::Uuid::new_v4().to_string(),
                        ..Default::default()
                    })
                    .await
                    .map_err(api(format!("delete {name}")))?;
                self.printer.done(&format!("deleted {name}"));
            }
        }
        Ok(())
    }

    async fn blue_green(&self, command: BlueGreenCommand) -> Result<(), CliError> {
        let mut client = self.gateway.blue_green();
        let name = |id: &str| request::top_level_name("blueGreenEntries", id);
        match command {
            BlueGreenCommand::List(ListArgs { filter, limit }) => {
                let items = list_all!(
                    client,
                    list_blue_green_entries,
                    routing::ListBlueGreenEntriesRequest {
                        filter,
                        ..Default::default()
                    },
                    blue_green_entries,
                    limit,
                    "list blue-green entries"
                );
                self.printer.list(&items, render::blue_green_entries);
            }
            BlueGreenCommand::Get { id } => {
                let name = name(&id);
                let item = client
                    .get_blue_green_entry(routing::GetBlueGreenEntryRequest { name: name.clone() })
                    .await
                    .map_err(api(format!("get {name}")))?
                    .into_inner();
                self.printer.one(&item, render::blue_green_entries);
            }
            BlueGreenCommand::Create(args) => {
                let request = request::create_blue_green(&args)?;
                let action = format!(
                    "create blue-green entry blueGreenEntries/{}",
                    request.blue_green_entry_id
                );
                let operation = client
                    .create_blue_green_entry(request)
                    .await
                    .map_err(api(action))?
                    .into_inner();
                self.follow(operation).await?;
            }
            BlueGreenCommand::Switch { id, to } => {
                let name = name(&id);
                let operation = client
                    .switch_blue_green_entry(routing::SwitchBlueGreenEntryRequest {
                        name: name.clone(),
                        target_side: request::side(to) as i32,
                        request_id: uuid::Uuid::new_v4().to_string(),
                        ..Default::default()
                    })
                    .await
                    .map_err(api(format!("switch {name}")))?
                    .into_inner();
                self.follow(operation).await?;
            }
            BlueGreenCommand::Rollback { id } => {
                let name = name(&id);
                let operation = client
                    .rollback_blue_green_entry(routing::RollbackBlueGreenEntryRequest {
                        name: name.clone(),
                        request_id: uuid::Uuid::new_v4().to_string(),
                        ..Default::default()
                    })
                    .await
                    .map_err(api(format!("roll {name} back")))?
                    .into_inner();
                self.follow(operation).await?;
            }
            BlueGreenCommand::Update(args) => {
                let name = name(&args.id);
                let item = update_resource!(
                    client,
                    args,
                    name.clone(),
                    get_blue_green_entry(routing::GetBlueGreenEntryRequest { name }),
                    update_blue_green_entry(routing::UpdateBlueGreenEntryRequest {
                        blue_green_entry
                    })
                );
                self.printer.one(&item, render::blue_green_entries);
            }
            BlueGreenCommand::Delete { id } => {
                let name = name(&id);
                let operation = client
                    .delete_blue_green_entry(routing::DeleteBlueGreenEntryRequest {
                        name: name.clone(),
                        request_id: uuid::Uuid::new_v4().to_string(),
                        ..Default::default()
                    })
                    .await
                    .map_err(api(format!("delete {name}")))?
                    .into_inner();
                self.follow(operation).await?;
            }
            BlueGreenCommand::Namespaces { id } => {
                let name = name(&id);
                let mut request = routing::ListDeployableNamespacesRequest {
                    name: name.clone(),
                    ..Default::default()
                };
                let mut items = Vec::new();
                loop {
                    let response = client
                        .list_deployable_namespaces(request.clone())
                        .await
                        .map_err(api(format!("list the namespaces of {name}")))?
                        .into_inner();
                    items.extend(response.deployable_namespaces);
                    if response.next_page_token.is_empty() {
                        break;
                    }
                    request.page_token = response.next_page_token;
                }
                self.printer.list(&items, render::deployable_namespaces);
            }
        }
        Ok(())
    }

    async fn applications(&self, command: ApplicationsCommand) -> Result<(), CliError> {
        let mut client = self.gateway.applications();
        let name = |id: &str| request::top_level_name("applications", id);
        match command {
            ApplicationsCommand::List(ListArgs { filter, limit }) => {
                let items = list_all!(
                    client,
                    list_applications,
                    build::ListApplicationsRequest {
                        filter,
                        ..Default::default()
                    },
                    applications,
                    limit,
                    "list applications"
                );
                self.printer.list(&items, render::applications);
            }
            ApplicationsCommand::Get { id } => {
                let name = name(&id);
                let item = client
                    .get_application(build::GetApplicationRequest { name: name.clone() })
                    .await
                    .map_err(api(format!("get {name}")))?
                    .into_inner();
                self.printer.one(&item, render::applications);
            }
            ApplicationsCommand::Create(args) => {
                let request = request::create_application(&args)?;
                let action = format!("create application applications/{}", request.application_id);
                let item = client
                    .create_application(request)
                    .await
                    .map_err(api(action))?
                    .into_inner();
                self.printer.one(&item, render::applications);
            }
            ApplicationsCommand::Update(args) => {
                let name = name(&args.id);
                let item = update_resource!(
                    client,
                    args,
                    name.clone(),
                    get_application(build::GetApplicationRequest { name }),
                    update_application(build::UpdateApplicationRequest { application })
                );
                self.printer.one(&item, render::applications);
            }
            ApplicationsCommand::Delete { id, force } => {
                let name = name(&id);
                client
                    .delete_application(build::DeleteApplicationRequest {
                        name: name.clone(),
                        force,
                        request_id: uuid::Uuid::new_v4().to_string(),
                        ..Default::default()
                    })
                    .await
                    .map_err(api(format!("delete {name}")))?;
                self.printer.done(&format!("deleted {name}"));
            }
        }
        Ok(())
    }

    async fn builds(&self, command: BuildsCommand) -> Result<(), CliError> {
        let mut client = self.gateway.builds();
        let name = |spec: &str| request::application_child_name("builds", spec);
        match command {
            BuildsCommand::List {
                application,
                filter,
                limit,
            } => {
                let parent = request::top_level_name("applications", &application);
                let items = list_all!(
                    client,
                    list_builds,
                    build::ListBuildsRequest {
                        parent: parent.clone(),
                        filter,
                        ..Default::default()
                    },
                    builds,
                    limit,
                    format!("list builds of {parent}")
                );
                self.printer.list(&items, render::builds);
            }
            BuildsCommand::Get { build } => {
                let name = name(&build)?;
                let item = client
                    .get_build(build::GetBuildRequest { name: name.clone() })
                    .await
                    .map_err(api(format!("get {name}")))?
                    .into_inner();
                self.printer.one(&item, render::builds);
            }
            BuildsCommand::Start {
                application,
                git_ref,
            } => {
                let request = request::create_build(&application, git_ref.as_deref());
                let action = format!("start a build of {}", request.parent);
                let operation = client
                    .create_build(request)
                    .await
                    .map_err(api(action))?
                    .into_inner();
                self.follow(operation).await?;
            }
            BuildsCommand::Cancel { build } => {
                let name = name(&build)?;
                let item = client
                    .cancel_build(build::CancelBuildRequest {
                        name: name.clone(),
                        request_id: uuid::Uuid::new_v4().to_string(),
                        ..Default::default()
                    })
                    .await
                    .map_err(api(format!("cancel {name}")))?
                    .into_inner();
                self.printer.one(&item, render::builds);
            }
            BuildsCommand::Logs { build, follow } => {
                let name = name(&build)?;
                let action = format!("read the log of {name}");
                let mut stream = client
                    .stream_build_logs(build::StreamBuildLogsRequest {
                        name: name.clone(),
                        follow,
                        ..Default::default()
                    })
                    .await
                    .map_err(api(action.clone()))?
                    .into_inner();
                let mut stdout = std::io::stdout();
                while let Some(response) = stream.message().await.map_err(api(action.clone()))? {
                    let Some(chunk) = response.chunk else {
                        continue;
                    };
                    // A closed pipe (`| head`) ends the command quietly.
                    if stdout
                        .write_all(&chunk.data)
                        .and_then(|()| stdout.flush())
                        .is_err()
                    {
                        break;
                    }
                    if chunk.end_of_log {
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    async fn images(&self, command: ImagesCommand) -> Result<(), CliError> {
        let mut client = self.gateway.images();
        let name = |spec: &str| request::application_child_name("images", spec);
        match command {
            ImagesCommand::List {
                application,
                filter,
                limit,
            } => {
                let parent = request::top_level_name("applications", &application);
                let items = list_all!(
                    client,
                    list_images,
                    build::ListImagesRequest {
                        parent: parent.clone(),
                        filter,
                        ..Default::default()
                    },
                    images,
                    limit,
                    format!("list images of {parent}")
                );
                self.printer.list(&items, render::images);
            }
            ImagesCommand::Get { image } => {
                let name = name(&image)?;
                let item = client
                    .get_image(build::GetImageRequest { name: name.clone() })
                    .await
                    .map_err(api(format!("get {name}")))?
                    .into_inner();
                self.printer.one(&item, render::images);
            }
            ImagesCommand::Delete { image } => {
                let name = name(&image)?;
                client
                    .delete_image(build::DeleteImageRequest {
                        name: name.clone(),
                        request_id: uuid::Uuid::new_v4().to_string(),
                        ..Default::default()
                    })
                    .await
                    .map_err(api(format!("delete {name}")))?;
                self.printer.done(&format!("deleted {name}"));
            }
        }
        Ok(())
    }

    async fn promotions(&self, command: PromotionsCommand) -> Result<(), CliError> {
        let mut client = self.gateway.promotions();
        let name = |spec: &str| request::application_child_name("promotions", spec);
        let item = match command {
            PromotionsCommand::List { application } => {
                let parent = request::top_level_name("applications", &application);
                let items = list_all!(
                    client,
                    list_promotions,
                    build::ListPromotionsRequest {
                        parent: parent.clone(),
                        ..Default::default()
                    },
                    promotions,
                    0,
                    format!("list promotions of {parent}")
                );
                self.printer.list(&items, render::promotions);
                return Ok(());
            }
            PromotionsCommand::Get { promotion } => {
                let name = name(&promotion)?;
                client
                    .get_promotion(build::GetPromotionRequest { name: name.clone() })
                    .await
                    .map_err(api(format!("get {name}")))?
            }
            PromotionsCommand::Create {
                application,
                image,
                to,
                id,
            } => {
                let request =
                    request::create_promotion(&application, &image, to.as_deref(), id.as_deref())?;
                let action = format!("promote {image} of {}", request.parent);
                let operation = client
                    .create_promotion(request)
                    .await
                    .map_err(api(action))?
                    .into_inner();
                return self.follow(operation).await;
            }
            PromotionsCommand::Approve { promotion, comment } => {
                let name = name(&promotion)?;
                client
                    .approve_promotion(build::ApprovePromotionRequest {
                        name: name.clone(),
                        comment,
                        request_id: uuid::Uuid::new_v4().to_string(),
                        ..Default::default()
                    })
                    .await
                    .map_err(api(format!("approve {name}")))?
            }
            PromotionsCommand::Reject { promotion, comment } => {
                let name = name(&promotion)?;
                client
                    .reject_promotion(build::RejectPromotionRequest {
                        name: name.clone(),
                        comment,
                        request_id: uuid::Uuid::new_v4().to_string(),
                        ..Default::default()
                    })
                    .await
                    .map_err(api(format!("reject {name}")))?
            }
            PromotionsCommand::Release { promotion, comment } => {
                let name = name(&promotion)?;
                let operation = client
                    .release_promotion(build::ReleasePromotionRequest {
                        name: name.clone(),
                        comment,
                        request_id: uuid::Uuid::new_v4().to_string(),
                        ..Default::default()
                    })
                    .await
                    .map_err(api(format!("release {name}")))?
                    .into_inner();
                return self.follow(operation).await;
            }
        };
        self.printer.one(&item.into_inner(), render::promotions);
        Ok(())
    }

    async fn operations(&self, command: OperationsCommand) -> Result<(), CliError> {
        match command {
            OperationsCommand::Get { name } => {
                let name = request::top_level_name("operations", &name);
                let operation = self
                    .gateway
                    .operations()
                    .get_operation(common::GetOperationRequest { name: name.clone() })
                    .await
                    .map_err(api(format!("get {name}")))?
                    .into_inner();
                self.printer.one(&operation, render::operations);
                Ok(())
            }
            OperationsCommand::Wait { name } => {
                let name = request::top_level_name("operations", &name);
                let operation = self
                    .gateway
                    .operations()
                    .get_operation(common::GetOperationRequest { name: name.clone() })
                    .await
                    .map_err(api(format!("get {name}")))?
                    .into_inner();
                self.wait(operation).await
            }
        }
    }

    /// Prints a just-started operation (`--no-wait`, or already done), or follows it.
    async fn follow(&self, operation: common::Operation) -> Result<(), CliError> {
        if self.no_wait {
            self.printer.one(&operation, render::operations);
            return Ok(());
        }
        self.wait(operation).await
    }

    /// Follows an operation to its end with a progress bar (on stderr, hidden when it is
    /// not a terminal), then prints it; a failed one is an error (exit 5).
    async fn wait(&self, operation: common::Operation) -> Result<(), CliError> {
        let operation = if operation.done || operation.name.is_empty() {
            operation
        } else {
            let bar = ProgressBar::new(100);
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{bar:30}] {pos:>3}% {wide_msg}")
                    .expect("a valid progress template")
                    .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            let result = self.watch(operation, &bar).await;
            bar.finish_and_clear();
            result?
        };
        let status = match &operation.result {
            Some(common::operation::Result::Error(error)) => Some(status_from_proto(error)),
            _ => None,
        };
        self.printer.one(&operation, render::operations);
        match status {
            Some(status) => Err(CliError::OperationFailed {
                name: operation.name,
                status,
            }),
            None => Ok(()),
        }
    }

    async fn watch(
        &self,
        mut operation: common::Operation,
        bar: &ProgressBar,
    ) -> Result<common::Operation, CliError> {
        let name = operation.name.clone();
        let update = |operation: &common::Operation| {
            let percent = operation
                .metadata
                .as_ref()
                .map(|metadata| metadata.progress_percent.clamp(0, 100))
                .unwrap_or(0);
            bar.set_position(percent as u64);
            bar.set_message(render::progress_message(operation));
        };
        update(&operation);
        let action = format!("follow {name}");
        let mut stream = self
            .gateway
            .operations()
            .watch_operation(common::WatchOperationRequest { name: name.clone() })
            .await
            .map_err(api(action.clone()))?
            .into_inner();
        while let Some(next) = stream.message().await.map_err(api(action.clone()))? {
            update(&next);
            let done = next.done;
            operation = next;
            if done {
                return Ok(operation);
            }
        }
        // The stream ended early (e.g. the server restarted): poll until done.
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            operation = self
                .gateway
                .operations()
                .get_operation(common::GetOperationRequest { name: name.clone() })
                .await
                .map_err(api(action.clone()))?
                .into_inner();
            update(&operation);
            if operation.done {
                return Ok(operation);
            }
        }
    }
}
