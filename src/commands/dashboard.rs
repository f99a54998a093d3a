//! `kcfed dashboard`: the walkthrough's last step (`kubectl port-forward ... 9090`, then open
//! localhost:9090) with kcfed's own way to the cluster: a context, or AWS credentials alone.
//! It serves until Ctrl-C.

use crate::aws::accounts::{self, Accounts};
use crate::aws::config::{self, Clients};
use crate::aws::{eks, sts};
use crate::cli::DashboardArgs;
use crate::engine::report::Finished;
use crate::error::{Error, exit};
use crate::fleet::{self, Fleet, Reacher, WorkspaceLookup};
use crate::kube::forward::{self, UI_PORT};
use crate::names;
use crate::validate;

pub async fn run(args: &DashboardArgs) -> Result<Finished, Error> {
    validate::dashboard(args)?;
    let clients = Clients::new(config::load(&args.aws).await?).ok_or_else(validate::no_region)?;
    let lookup = WorkspaceLookup::new(&clients, &args.workspace);
    let (caller, workspace) = tokio::try_join!(
        sts::caller(&clients.sts),
        lookup.existing(args.workspace.workspace_id.as_deref()),
    )?;
    let (fleet, primary) = Fleet::from_workspace(&caller.account, &lookup.region, workspace);
    let reacher = Reacher::new(&args.kube, &args.aws, &args.accounts)?;
    let arn = match &args.cluster {
        None => primary.clone().ok_or_else(|| Error::Usage {
            message: "the fleet's workspace names no primary cluster".to_owned(),
            fix: "name the cluster with --cluster".to_owned(),
        })?,
        Some(value) => {
            let value = reacher
                .locate_all(std::slice::from_ref(value), args.aws.region.is_some())
                .remove(0);
            let roles = fleet::roles_by_cluster(&clients.iam, &fleet.names()).await?;
            let members = fleet::members(&roles);
            fleet::find_member(&members, &value, &clients.region)
                .map(|member| member.arn.clone())
                .ok_or_else(|| fleet::not_in_fleet(&value, &members))?
        }
    };
    let is_primary = primary.as_deref() == Some(arn.as_str());

    let accounts = Accounts::resolve(
        clients.clone(),
        &caller,
        &args.accounts,
        &accounts::of_clusters(std::slice::from_ref(&arn)),
    )
    .await?;
    let (region, account, name) = names::parse_eks_cluster_arn(&arn).unwrap_or_default();
    let account_clients = accounts.clients(account);
    let cluster = eks::describe_cluster(&account_clients.eks_in(region), name, region).await?;
    let reached = reacher.reach(&cluster, args.kube_context.as_deref(), &caller.account)?;
    let opened = async {
        let client = fleet::open(&reached, &arn).await?;
        let pod = forward::ui_pod(&client, &args.namespace, &args.release).await?;
        Ok::<_, Error>((client, pod))
    }
    .await;
    let (client, pod) = match opened {
        Ok(opened) => opened,
        Err(err) => {
            return Err(
                fleet::explain_refusal(err, &reached, &cluster, &account_clients.sts).await,
            );
        }
    };
    // 2.x agents run `agentOnly`: the chart leaves their frontend out.
    let agent_2x = !is_primary
        && pod
            .chart
            .as_deref()
            .is_some_and(|chart| chart.starts_with("cost-analyzer-2."));
    if agent_2x {
        return Err(Error::Usage {
            message: format!(
                "{arn} is an agent on chart 2.x ({}), which has no UI: it only ships its data to the fleet",
                pod.chart.as_deref().unwrap_or_default()
            ),
            fix: "open the fleet's view on the primary: `kcfed dashboard` without --cluster"
                .to_owned(),
        });
    }

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|source| Error::Io {
            path: format!("127.0.0.1:{}", args.port).into(),
            source,
        })?;
    let local = listener.local_addr().map_err(|source| Error::Io {
        path: format!("127.0.0.1:{}", args.port).into(),
        source,
    })?;
    // The address is the result, and must reach a reader (a script, a browser opener) now, not
    // when the command ends.
    println!("http://{local}");
    eprintln!(
        "Kubecost UI of {arn} ({} {UI_PORT}); Ctrl-C stops it",
        pod.name
    );
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => break,
            accepted = listener.accept() => {
                let Ok((connection, _)) = accepted else { continue };
                let (client, namespace, pod) = (client.clone(), args.namespace.clone(), pod.name.clone());
                tokio::spawn(async move {
                    if let Err(err) = forward::forward(&client, &namespace, &pod, connection).await {
                        eprintln!("error: {err}");
                    }
                });
            }
        }
    }
    Ok(Finished {
        stdout: None,
        exit: Ok(exit::SUCCESS),
    })
}
