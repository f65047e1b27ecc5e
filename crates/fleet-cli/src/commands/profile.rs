//! `fleet profile set|list`.

use std::path::Path;

use crate::cli::{Output, Profile};
use crate::exit::Exit;
use crate::output::{print, table};
use crate::profiles::{self, masked};

/// The URL and key given on the command line itself, which `profile set` stores.
#[derive(Debug, Default)]
pub struct Given {
    pub url: Option<String>,
    pub api_key: Option<String>,
}

pub fn run(config_path: &Path, output: Output, command: Profile, given: Given) -> Result<(), Exit> {
    let mut config = profiles::load(config_path)?;
    match command {
        Profile::Set { name } => {
            if given.url.is_none() && given.api_key.is_none() {
                return Err(Exit::usage(
                    "give --url, --api-key or both to store in the profile",
                ));
            }
            let profile = config.profiles.entry(name.clone()).or_default();
            if given.url.is_some() {
                profile.url = given.url;
            }
            if given.api_key.is_some() {
                profile.api_key = given.api_key;
            }
            profiles::save(config_path, &config)?;
            eprintln!("profile {name} saved in {}", config_path.display());
            Ok(())
        }
        Profile::List => {
            for profile in config.profiles.values_mut() {
                profile.api_key = profile.api_key.as_deref().map(masked);
            }
            print(output, &config.profiles, |profiles| {
                let mut listed = table(&["PROFILE", "URL", "API KEY"]);
                for (name, profile) in profiles {
                    listed.add_row(vec![
                        name.clone(),
                        profile.url.clone().unwrap_or_else(|| "-".to_owned()),
                        profile.api_key.clone().unwrap_or_else(|| "-".to_owned()),
                    ]);
                }
                vec![listed]
            })
        }
    }
}
