"""The endpoints of the seed documentation, plus a tiny login so there is a resource owner."""

from flask import jsonify, redirect, render_template, request, session

from authgate.flask.oauth1 import OAuth1Error, current_credential

from .models import User, db


def current_user():
    user_id = session.get("user_id")
    return db.session.get(User, user_id) if user_id else None


def register_views(app, server, require_oauth):
    @app.route("/login", methods=["GET", "POST"])
    def login():
        if request.method == "POST":
            name = request.form["username"]
            user = User.query.filter_by(username=name).first()
            if user is None:
                user = User(username=name)
                db.session.add(user)
                db.session.commit()
            session["user_id"] = user.id
            return redirect(request.args.get("next") or "/")
        return '<form method="post"><input name="username"><button>Log in</button></form>'

    @app.route("/initiate", methods=["POST"])
    def initiate_temporary_credential():
        return server.create_temporary_credential_response()

    @app.route("/authorize", methods=["GET", "POST"])
    def authorize():
        user = current_user()
        if user is None:
            return redirect("/login?next=" + request.full_path)
        if request.method == "GET":
            try:
                req = server.check_authorization_request()
                return render_template("authorize.html", req=req, user=user)
            except OAuth1Error as error:
                return render_template("error.html", error=error), error.status

        granted = request.form.get("granted")
        grant_user = user if granted else None
        try:
            return server.create_authorization_response(grant_user)
        except OAuth1Error as error:
            return render_template("error.html", error=error), error.status

    @app.route("/token", methods=["POST"])
    def issue_token():
        return server.create_token_response()

    @app.route("/user")
    @require_oauth()
    def user_profile():
        user = current_credential.user
        return jsonify(id=user.id, username=user.username)
