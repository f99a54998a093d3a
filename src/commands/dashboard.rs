//! `kcfed dashboard`: the walkthrough's last step (`kubectl port-forward ... 9090`, then open
//! localhost:9090) with kcfed's own way to the cluster: a context, or AWS credentials alone.
//! It serves until Ctrl-C.

use crate::aws::accounts::{self, Accounts};
use crate::aws::config::{self, Clients};
use crate::aws::sts;
use crate::chart::{ChartLine, UI_PORT};
use crate::cli::{ClusterRole, DashboardArgs};
use crate::engine::report::Finished;
use crate::error::{Error, exit};
use crate::fleet::{self, Fleet};
use crate::kube;
use crate::kube::Reacher;
use crate::kube::forward;
use crate::resources::fleet_lookup::FleetLookup;
use crate::resources::member_record;
use crate::validate;

pub async fn run(args: &DashboardArgs) -> Result<Finished, Error> {
    validate::dashboard(args)?;
    let clients = Clients::new(config::load(&args.aws).await?).ok_or_else(validate::no_region)?;
    let lookup = FleetLookup::new(&clients, &args.workspace);
    let (caller, workspace) = tokio::try_join!(sts::caller(&clients.sts), lookup.workspace())?;
    let found = lookup
        .existing(&clients.s3_in(&lookup.region), &caller.account, workspace)
        .await?;
    let (fleet, primary) = Fleet::from_found(&caller.account, &lookup.region, found);
    let reacher = Reacher::new(&args.kube, &args.aws, &args.accounts)?;
    let arn = match &args.cluster {
        None => primary.clone().ok_or_else(|| Error::Usage {
            message: "the fleet's record names no primary cluster".to_owned(),
            fix: "name the cluster with --cluster".to_owned(),
        })?,
        Some(value) => {
            let value = reacher
                .locate_all(std::slice::from_ref(value), args.aws.region.is_some())
                .remove(0);
            let members = member_record::fleet_members(&clients, &fleet)
                .await?
                .members;
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
    let (_, client) =
        kube::reach_and_open(&reacher, &accounts, &arn, args.kube_context.as_deref()).await?;
    let pod = forward::ui_pod(&client, &args.namespace, &args.release).await?;
    let role = if is_primary {
        ClusterRole::Primary
    } else {
        ClusterRole::Agent
    };
    let line = pod.chart.as_deref().and_then(ChartLine::of_chart_label);
    if line.is_some_and(|line| !line.has_ui(role)) {
        return Err(Error::Usage {
            message: format!(
                "{arn} is an agent on chart {}, which has no UI: it only ships its data to the fleet",
                pod.chart.as_deref().unwrap_or_default()
            ),
            fix: "open the fleet's view on the primary: `kcfed dashboard` without --cluster"
                .to_owned(),
        });
    }

    // Only this machine, as `kubectl port-forward` listens by default.
    let wanted = std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, args.port));
    let cannot_listen = |source| Error::Io {
        path: wanted.to_string().into(),
        source,
    };
    let listener = tokio::net::TcpListener::bind(wanted)
        .await
        .map_err(cannot_listen)?;
    let local = listener.local_addr().map_err(cannot_listen)?;
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
