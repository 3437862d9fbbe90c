"""nbgrader's configuration for this course; `make assignments` fills the course directory.

Run nbgrader from this folder (the repository root) so that it finds this file, e.g.
`nbgrader autograde 01_dv_duality` or `jupyter lab` with the nbgrader extension. See
book/instructors.md.
"""

from pathlib import Path

c = get_config()  # noqa: F821 (defined by traitlets when it loads this file)

# The course directory (source/, release/, submitted/, autograded/, feedback/, gradebook.db) is
# generated and git-ignored; `make assignments` rewrites source/ and release/ from the chapters.
c.CourseDirectory.root = str(Path(__file__).resolve().parent / "_build" / "assignments")
c.CourseDirectory.course_id = "mi-course"

# Autograding executes the whole chapter. nbgrader's default of 30 s per cell is too short for a
# training cell on a laptop CPU; the book build allows the same 30 minutes.
c.Execute.timeout = 1800
