"""The record linker: source records of one student become one person.

The public surface is `linkage.engine` (`link_records`, `LinkResult`,
`LinkModel`, `Constraints`) for linking a frame of canonical records, and
`linkage.service` for linking what the database holds (stable person ids,
review queue, incremental linking).  Splink is imported only inside this
package.
"""
