//! `fleet clock show|advance`.

use super::Session;
use crate::cli::Clock;
use crate::exit::Exit;
use crate::output::{fields, print, time};

pub async fn run(session: &Session, command: Clock) -> Result<(), Exit> {
    let answer = match command {
        Clock::Show => session.client.read_clock().send().await.map(|reading| {
            print(session.output, &*reading, |r| {
                vec![fields(vec![("now", time(&r.now))])]
            })
        }),
        Clock::Advance { by } => {
            let seconds = i64::try_from(by.as_secs())
                .map_err(|_| Exit::usage(format!("{} s is too far", by.as_secs())))?;
            let request = session
                .client
                .advance_clock()
                .body_map(|body| body.seconds(seconds));
            request.send().await.map(|report| {
                print(session.output, &*report, |r| {
                    vec![fields(vec![
                        ("now", time(&r.now)),
                        ("transitions completed", r.completed.to_string()),
                        ("billing accruals", r.accrued.to_string()),
                        ("servers reaped", r.reaped.to_string()),
                    ])]
                })
            })
        }
    };
    match answer {
        Ok(printed) => printed,
        Err(e) => {
            let not_virtual = e.status().is_some_and(|s| s.as_u16() == 404);
            let exit = session.failed(e).await;
            match not_virtual {
                true => {
                    Err(exit
                        .with_hint("the clock exists only when fleetd runs with `--clock virtual`"))
                }
                false => Err(exit),
            }
        }
    }
}
