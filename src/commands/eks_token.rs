//! `kcfed eks-token`: the credential plugin of the kubeconfigs kcfed writes for the clusters it
//! reaches directly. kube-rs and helm run it whenever their token is about to expire; it prints
//! an `ExecCredential` with a fresh token from the cluster account's credentials.

use crate::aws::accounts::{self, Access};
use crate::aws::config::{self, Clients};
use crate::aws::eks_token;
use crate::cli::EksTokenArgs;
use crate::engine::report::Finished;
use crate::error::{Error, exit};
use crate::validate;

pub async fn run(args: &EksTokenArgs) -> Result<Finished, Error> {
    let clients = Clients::new(config::load(&args.aws).await?).ok_or_else(validate::no_region)?;
    let access = match (&args.access_profile, &args.access_role) {
        (Some(profile), _) => Some(Access::Profile(profile.clone())),
        (None, Some(role)) => Some(Access::Role(role.clone())),
        (None, None) => None,
    };
    let config = match &access {
        Some(access) => accounts::clients_for(&clients, access).await.config,
        None => clients.config.clone(),
    };
    let credential = eks_token::exec_credential(&config, &args.cluster, &clients.region).await?;
    let document = serde_json::to_string(&credential).expect("an ExecCredential serializes");
    Ok(Finished::printing(document + "\n", Ok(exit::SUCCESS)))
}
